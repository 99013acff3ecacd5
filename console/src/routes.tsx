// The console's pages. A page is one entry here: its address pattern, its title and whether the
// navigation bar links to it (a jobs page is one more entry and one more file in pages/).
import type { VNode } from "preact";
import { DevicePage } from "./pages/Device";
import { FleetPage } from "./pages/Fleet";
import { HoldersPage } from "./pages/Holders";
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
];
