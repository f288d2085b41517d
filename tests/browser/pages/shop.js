// A shop's page on its own origin, as a web developer wires an analytics SDK to the engine.
// Query: sdk=segment|rudderstack, key=<write key>, engine=http://127.0.0.1:<port>,
// mode=standard|batching (segment) or standard|beacon (rudderstack), user=<userId>.
// The calls are the same for both SDKs (identify, page, Product Viewed, Order Completed); the page
// lists each call and sets window.shopDone when the SDK has taken them all.
"use strict";

const params = new URLSearchParams(location.search);
const sdk = params.get("sdk");
const key = params.get("key");
const engine = params.get("engine");
const mode = params.get("mode") || "standard";
const user = params.get("user");

document.getElementById("sdk").textContent = sdk;
document.getElementById("mode").textContent = mode;
document.getElementById("engine").textContent = engine;

const traits = { firstName: "Анна", email: `${user}@example.com` };
const product = { product_id: "hand-cream-50", sku: "HC-50", name: "Hand cream 50 ml", price: 490, currency: "RUB", category: "Care" };
const order = {
  order_id: `order-${user}`,
  total: 980,
  currency: "RUB",
  products: [{ ...product, quantity: 2 }],
};

function note(text, outcome) {
  const item = document.createElement("li");
  item.textContent = text;
  item.className = outcome;
  document.getElementById("calls").append(item);
}

function load(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(`could not load ${src}`));
    document.head.append(script);
  });
}

async function segment() {
  await load("/node_modules/@segment/analytics-next/dist/umd/index.js");
  const settings = {
    apiKey: key,
    apiHost: `${engine.replace(/^https?:\/\//, "")}/v1`,
    protocol: engine.startsWith("https:") ? "https" : "http",
  };
  if (mode === "batching") {
    settings.deliveryStrategy = { strategy: "batching", config: { size: 4, timeout: 1000 } };
  }
  const analytics = window.AnalyticsNext.AnalyticsBrowser.load({
    writeKey: key,
    cdnSettings: {
      integrations: { "Segment.io": settings },
      // no usage counters: analytics-next would post them every 30 s to Segment's own API
      // (https://api.segment.io/v1/m), whatever apiHost says
      metrics: { sampleRate: 0 },
    },
  });
  // each call's promise settles once its delivery was tried (standard) or batched
  const call = async (name, sent) => {
    const ctx = await sent;
    const failed = ctx.failedDelivery();
    note(failed ? `${name}: ${failed.reason}` : name, failed ? "failed" : "sent");
  };
  await call("identify", analytics.identify(user, traits));
  await call("page", analytics.page("Shop", "Product", { path: "/products/hand-cream-50" }));
  await call("track Product Viewed", analytics.track("Product Viewed", product));
  await call("track Order Completed", analytics.track("Order Completed", order));
  window.shopAnonymousId = (await analytics.user()).anonymousId();
}

async function rudderstack() {
  await load("/node_modules/@rudderstack/analytics-js/dist/npm/modern/bundled/umd/index.js");
  const analytics = new window.rudderanalytics.RudderAnalytics();
  const loaded = new Promise((resolve) => {
    analytics.load(key, engine, {
      // the source's settings inline, so nothing is asked of RudderStack's control plane
      getSourceConfig: () => ({
        source: { id: "test-shop", name: "Test shop", workspaceId: "local", enabled: true, config: {}, destinations: [] },
      }),
      useBeacon: mode === "beacon",
      beaconQueueOptions: { maxItems: 4, flushQueueInterval: 1000 },
      onLoaded: resolve,
    });
  });
  await loaded;
  const call = (name, send) => new Promise((resolve) => send(() => { note(name, "sent"); resolve(); }));
  await call("identify", (done) => analytics.identify(user, traits, done));
  await call("page", (done) => analytics.page("Shop", "Product", { path: "/products/hand-cream-50" }, done));
  await call("track Product Viewed", (done) => analytics.track("Product Viewed", product, done));
  await call("track Order Completed", (done) => analytics.track("Order Completed", order, done));
  window.shopAnonymousId = analytics.getAnonymousId();
}

const run = { segment, rudderstack }[sdk];
(run ? run() : Promise.reject(new Error(`unknown sdk ${sdk}`)))
  .then(() => {
    document.getElementById("status").textContent = "all calls taken by the SDK";
    window.shopDone = true;
  })
  .catch((error) => {
    document.getElementById("status").textContent = `failed: ${error}`;
    window.shopError = String(error);
  });
