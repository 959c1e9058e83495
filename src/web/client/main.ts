/**
 * The dashboard's page script: one bundle (with the chart library) that
 * renders the page the URL names from the JSON API, or, in a static report,
 * from the answers embedded in the file.
 */

import './app.css';
import { clear, h } from './dom.js';
import { listView } from './list-view.js';
import { overviewView } from './overview-view.js';
import { currentRoute, link, staticReport } from './source.js';
import { ticketView } from './ticket-view.js';

async function render(): Promise<void> {
  const root = document.getElementById('app')!;
  const { path, params } = currentRoute();
  const main = h('main', { id: 'main', tabindex: -1 });
  clear(root);
  root.append(header(path), main);
  main.append(h('p', { class: 'loading', role: 'status' }, 'Loading…'));
  try {
    const ticket = /^\/tickets\/([1-9]\d{0,15})$/.exec(path);
    const view =
      ticket !== null
        ? await ticketView(Number(ticket[1]), params)
        : path === '/tickets'
          ? await listView(params)
          : path === '/'
            ? await overviewView(params)
            : notFound();
    clear(main);
    main.append(view);
    document.title = `${view.querySelector('h1')?.textContent ?? 'logtickets'} · logtickets`;
  } catch (error) {
    clear(main);
    main.append(h('p', { class: 'error', role: 'alert' }, (error as Error).message));
  }
  main.setAttribute('aria-busy', 'false');
  document.body.dataset.ready = 'true';
}

function header(path: string): HTMLElement {
  const report = staticReport();
  const item = (href: string, label: string, current: boolean) =>
    h('li', {}, h('a', { href: link(href), 'aria-current': current ? 'page' : undefined }, label));
  return h(
    'header',
    { class: 'top' },
    report === null ? h('a', { class: 'skip', href: '#main' }, 'Skip to content') : null,
    h('span', { class: 'brand' }, report === null ? 'logtickets' : 'logtickets report'),
    h(
      'nav',
      { 'aria-label': 'views' },
      h('ul', {}, item('/', 'Overview', path === '/'), item('/tickets', 'Tickets', path.startsWith('/tickets'))),
    ),
  );
}

function notFound(): HTMLElement {
  return h(
    'section',
    { class: 'view' },
    h('h1', {}, 'Not found'),
    h('p', {}, 'There is no such page in the dashboard.'),
  );
}

document.body.dataset.ready = 'false';
if (staticReport() !== null) window.addEventListener('hashchange', () => void render());
void render();
