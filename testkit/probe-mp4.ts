import { ALL_FORMATS, BufferSource, Input } from 'mediabunny';

export interface Mp4Probe {
  width: number;
  height: number;
  durationSeconds: number;
  hasAudio: boolean;
  hasVideo: boolean;
}

/** Reads an MP4's frame size, duration and tracks in-process, so tests need no ffprobe. */
export async function probeMp4(bytes: Uint8Array): Promise<Mp4Probe> {
  const input = new Input({ source: new BufferSource(bytes), formats: ALL_FORMATS });
  try {
    const video = await input.getPrimaryVideoTrack();
    const audio = await input.getPrimaryAudioTrack();
    return {
      width: video ? await video.getDisplayWidth() : 0,
      height: video ? await video.getDisplayHeight() : 0,
      durationSeconds: await input.computeDuration(),
      hasAudio: audio !== null,
      hasVideo: video !== null,
    };
  } finally {
    input.dispose();
  }
}
