// The console's pages. A page is one entry here: its address pattern, its title and whether the
// navigation bar links to it.
import type { VNode } from "preact";
import { DevicePage } from "./pages/Device";
import { FleetPage } from "./pages/Fleet";
import { HoldersPage } from "./pages/Holders";
import { JobPage, JobsPage } from "./pages/Jobs";
import type { Location } from "./router";

export interface Page {
  pattern: RegExp;
  title: string;
  nav?: string; // the path the navigation bar links to
  render: (match: RegExpMatchArray, where: Location) => VNode;
}

export const PAGES: readonly Page[] = [
  { pattern: /^\/$/, title: "Fleet", nav: "/", render: (_, where) => <FleetPage where={where} /> },
  {
    pattern: /^\/devices\/([^/]+)$/,
    title: "Device",
    render: (match) => <DevicePage key={match[1]} id={decodeURIComponent(match[1] ?? "")} />,
  },
  { pattern: /^\/holders$/, title: "Address holders", nav: "/holders", render: (_, where) => <HoldersPage where={where} /> },
  { pattern: /^\/jobs$/, title: "Jobs", nav: "/jobs", render: (_, where) => <JobsPage where={where} /> },
  {
    pattern: /^\/jobs\/([^/]+)$/,
    title: "Job",
    render: (match) => <JobPage key={match[1]} id={decodeURIComponent(match[1] ?? "")} />,
  },
];
