import { useEffect, useRef } from 'preact/hooks';
import { Announcer } from './announcer.js';
import { links, useRoute, type Route } from './route.js';
import { JobList } from './views/job-list.js';
import { JobPage } from './views/job-page.js';
import { NewJob } from './views/new-job.js';
import { StackPanel } from './views/stack-panel.js';

function View({ route }: { route: Route }) {
  switch (route.view) {
    case 'list':
      return <JobList />;
    case 'job':
      return <JobPage key={route.jobId} jobId={route.jobId} />;
    case 'new':
      return <NewJob />;
    case 'stack':
      return <StackPanel />;
    case 'unknown':
      return (
        <section>
          <h1 tabIndex={-1}>Not a page of the console</h1>
          <p>
            <a href={links.list}>Go to the jobs</a>
          </p>
        </section>
      );
  }
}

const NAV: { link: string; label: string; current: (route: Route) => boolean }[] = [
  { link: links.list, label: 'Jobs', current: (route) => route.view === 'list' || route.view === 'job' },
  { link: links.newJob, label: 'New job', current: (route) => route.view === 'new' },
  { link: links.stack, label: 'Stack', current: (route) => route.view === 'stack' },
];

export function App() {
  const route = useRoute();
  const main = useRef<HTMLElement>(null);
  const firstRoute = useRef(true);
  const focusHeading = () => main.current?.querySelector<HTMLElement>('h1')?.focus();
  // After a change of view, focus goes to its heading, as a page load would put a reader at the top.
  useEffect(() => {
    if (firstRoute.current) {
      firstRoute.current = false;
      return;
    }
    focusHeading();
  }, [route]);
  return (
    <Announcer>
      {/* A button, not a link to #main: the fragment holds the view. */}
      <button type="button" class="skip-link" onClick={focusHeading}>
        Skip to content
      </button>
      <header class="site-header">
        <span class="brand">video-pipeline</span>
        <nav aria-label="Console">
          <ul>
            {NAV.map((item) => (
              <li>
                <a href={item.link} aria-current={item.current(route) ? 'page' : undefined}>
                  {item.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main" ref={main}>
        <View route={route} />
      </main>
    </Announcer>
  );
}
