/// <reference lib="webworker" />
// The field app's service worker (served as /app/sw.js, scope /app): the whole app shell and
// MapLibre precached (Workbox; the list and revisions are written in at build time by
// scripts/build-web.mjs), base-map style and tiles from another origin kept for offline use,
// and push notifications shown. API calls are never cached here: what the app keeps of
// them is encrypted in IndexedDB.
import { clientsClaim } from "workbox-core";
import { ExpirationPlugin } from "workbox-expiration";
import { cleanupOutdatedCaches, precacheAndRoute } from "workbox-precaching";
import { registerRoute } from "workbox-routing";
import { StaleWhileRevalidate } from "workbox-strategies";

declare const self: ServiceWorkerGlobalScope;
declare const APP_PRECACHE: { url: string; revision: string }[];

// API calls never pass through this worker: the browser sends them straight to the network
// (the Service Worker Static Routing API, where the browser has it), so a sleeping worker is
// not woken for each call and never sees what the app sends.
interface RouterInstallEvent extends ExtendableEvent {
  addRoutes?: (rules: { condition: { urlPattern: string }; source: "network" }[]) => Promise<void>;
}
self.addEventListener("install", (event: ExtendableEvent) => {
  const routed = event as RouterInstallEvent;
  if (routed.addRoutes) {
    event.waitUntil(
      routed.addRoutes([{ condition: { urlPattern: "/v1/*" }, source: "network" }]).catch(() => undefined),
    );
  }
});

self.skipWaiting();
clientsClaim();
cleanupOutdatedCaches();
precacheAndRoute(APP_PRECACHE);

registerRoute(
  ({ url, request }) => url.origin !== self.location.origin && request.method === "GET",
  new StaleWhileRevalidate({
    cacheName: "outreach-basemap",
    plugins: [new ExpirationPlugin({ maxEntries: 3000, maxAgeSeconds: 30 * 86400 })],
  }),
);

interface PushPayload {
  reference?: string;
  reason?: string;
}

self.addEventListener("push", (event: PushEvent) => {
  let payload: PushPayload = {};
  try {
    payload = (event.data?.json() as PushPayload) ?? {};
  } catch {
    payload = {};
  }
  // A reference and a reason only: never a description or a place.
  const reference = typeof payload.reference === "string" ? payload.reference.slice(0, 40) : "";
  const reason = typeof payload.reason === "string" ? payload.reason.slice(0, 120) : "new work for your team";
  event.waitUntil(
    self.registration.showNotification(reference ? `Outreach: ${reference}` : "Outreach", {
      body: reason,
      tag: reference || "outreach",
      icon: "/static/icons/app-192.png",
      data: { url: "/app" },
    }),
  );
});

self.addEventListener("notificationclick", (event: NotificationEvent) => {
  event.notification.close();
  event.waitUntil(
    (async () => {
      const open = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      const app = open.find((client) => new URL(client.url).pathname.startsWith("/app"));
      if (app) {
        await app.focus();
      } else {
        await self.clients.openWindow("/app");
      }
    })(),
  );
});
