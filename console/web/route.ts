import { useEffect, useState } from 'preact/hooks';

/**
 * Views live in the fragment (`#/jobs/<id>`): the API owns every path of the origin (`/jobs…`), and
 * the server has one page to serve whatever the view.
 */
export type Route = { view: 'list' } | { view: 'job'; jobId: string } | { view: 'new' } | { view: 'stack' } | { view: 'unknown' };

export const links = {
  list: '#/',
  newJob: '#/new',
  stack: '#/stack',
  job: (jobId: string) => `#/jobs/${encodeURIComponent(jobId)}`,
};

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  if (path === '/') return { view: 'list' };
  if (path === '/new') return { view: 'new' };
  if (path === '/stack') return { view: 'stack' };
  const job = /^\/jobs\/([^/]+)$/.exec(path);
  if (job) {
    try {
      return { view: 'job', jobId: decodeURIComponent(job[1]!) };
    } catch {
      return { view: 'unknown' };
    }
  }
  return { view: 'unknown' };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function navigate(link: string): void {
  location.hash = link.slice(1);
}
