// The staff map: sign in (the token stays in this tab's sessionStorage), then vector tiles
// from /v1/tiles with the token. Everything shown about a feature is set with textContent,
// never as HTML: descriptions are typed by members of the public.
(function () {
  "use strict";
  var TOKEN_KEY = "outreach.staffToken";
  var node = document.getElementById("staff-map");
  var signin = document.getElementById("signin");
  var app = document.getElementById("map-app");
  var statusLine = document.getElementById("map-status");
  var details = document.getElementById("details");
  var detailsBody = document.getElementById("details-body");
  var windowSelect = document.getElementById("window-days");
  var map = null;
  var ESSEX = [0.65, 51.78];
  var BLANK = {
    version: 8, sources: {},
    layers: [{ id: "background", type: "background", paint: { "background-color": "#eef2f5" } }]
  };
  var STATUS_COLOURS = ["match", ["get", "status"],
    "received", "#d4351c", "assigned", "#f47738", "attempted", "#1d70b8", "closed", "#b1b4b6",
    "#505a5f"];
  var HOTSPOT_COLOURS = ["match", ["get", "layer"],
    "public_reports", "#912b88", "verified_bedded_down", "#00703c", "#28a197"];
  var INTERACTIVE = ["hotspots", "referrals", "contacts", "referral-cells", "contact-cells"];

  function token() { return sessionStorage.getItem(TOKEN_KEY); }

  function showSignIn(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    app.hidden = true;
    signin.hidden = false;
    document.getElementById("signin-error").textContent = message || "";
    if (map) { map.remove(); map = null; }
  }

  document.getElementById("signin-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var error = document.getElementById("signin-error");
    error.textContent = "";
    fetch("/v1/auth/token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        username: document.getElementById("username").value,
        password: document.getElementById("password").value
      })
    }).then(function (response) {
      if (!response.ok) { throw new Error("Sign-in failed: check your username and password."); }
      return response.json();
    }).then(function (body) {
      sessionStorage.setItem(TOKEN_KEY, body.access_token);
      document.getElementById("password").value = "";
      start();
    }).catch(function (err) { error.textContent = err.message; });
  });

  document.getElementById("signout").addEventListener("click", function () { showSignIn(""); });
  document.getElementById("details-close").addEventListener("click", function () {
    details.hidden = true;
  });

  function tilesUrl() {
    return window.location.origin + node.dataset.tilesPath + "?window_days=" +
      encodeURIComponent(windowSelect.value);
  }

  function authorise(url) {
    var ours = url.indexOf(window.location.origin + "/v1/") === 0;
    return ours ? { url: url, headers: { Authorization: "Bearer " + token() } } : { url: url };
  }

  function addLayers() {
    map.addSource("staff", { type: "vector", tiles: [tilesUrl()], minzoom: 0, maxzoom: 14 });
    var add = function (spec) { map.addLayer(Object.assign({ source: "staff" }, spec)); };
    add({ id: "areas-fill", type: "fill", "source-layer": "areas",
      paint: { "fill-color": "#ffffff", "fill-opacity": 0.5 } });
    add({ id: "areas-line", type: "line", "source-layer": "areas",
      paint: { "line-color": "#505a5f", "line-width": 1 } });
    add({ id: "teams-line", type: "line", "source-layer": "teams",
      paint: { "line-color": "#1d70b8", "line-width": 2, "line-dasharray": [2, 2], "line-opacity": 0.6 } });
    ["referral", "contact"].forEach(function (kind) {
      add({ id: kind + "-cells", type: "fill", "source-layer": kind + "_cells",
        paint: { "fill-color": "#6f72af", "fill-outline-color": "#3d4073",
          "fill-opacity": ["case", ["has", "count"],
            ["interpolate", ["linear"], ["get", "count"], 5, 0.25, 100, 0.6], 0.12] } });
    });
    add({ id: "hotspots", type: "circle", "source-layer": "hotspots",
      paint: { "circle-color": HOTSPOT_COLOURS, "circle-opacity": 0.45,
        "circle-stroke-color": HOTSPOT_COLOURS, "circle-stroke-width": 2,
        "circle-radius": ["interpolate", ["linear"], ["get", "member_count"], 1, 8, 20, 18, 100, 36] } });
    add({ id: "contacts", type: "circle", "source-layer": "contacts",
      paint: { "circle-radius": 4, "circle-color": ["case", ["get", "bedded_down"], "#0b0c0c", "#ffffff"],
        "circle-stroke-color": "#0b0c0c", "circle-stroke-width": 1 } });
    add({ id: "referrals", type: "circle", "source-layer": "referrals",
      paint: { "circle-radius": ["case", ["get", "urgent"], 7, 5], "circle-color": STATUS_COLOURS,
        "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.5 } });
  }

  function start() {
    signin.hidden = true;
    app.hidden = false;
    if (map) { return; }
    map = new maplibregl.Map({
      container: node, style: node.dataset.styleUrl || BLANK, center: ESSEX, zoom: 8,
      hash: true, attributionControl: false, transformRequest: authorise
    });
    map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
    map.on("load", addLayers);
    map.on("idle", function () { node.dataset.ready = "1"; });
    map.on("error", function (event) {
      var status = event.error && event.error.status;
      if (status === 401) { showSignIn("Your sign-in has expired: please sign in again."); }
      else if (status) { statusLine.textContent = "Some map tiles could not be loaded (" + status + ")."; }
    });
    map.on("click", showDetails);
    INTERACTIVE.forEach(function (id) {
      map.on("mouseenter", id, function () { map.getCanvas().style.cursor = "pointer"; });
      map.on("mouseleave", id, function () { map.getCanvas().style.cursor = ""; });
    });
  }

  windowSelect.addEventListener("change", function () {
    if (!map || !map.getSource("staff")) { return; }
    node.dataset.ready = "";
    map.getSource("staff").setTiles([tilesUrl()]);
  });

  Array.prototype.forEach.call(document.querySelectorAll("#layer-toggles input"), function (box) {
    box.addEventListener("change", function () {
      if (!map) { return; }
      box.dataset.layers.split(" ").forEach(function (id) {
        if (map.getLayer(id)) { map.setLayoutProperty(id, "visibility", box.checked ? "visible" : "none"); }
      });
    });
  });

  // ---- details panel: only textContent, never innerHTML
  function row(list, label, value) {
    if (value === undefined || value === null || value === "") { return; }
    var dt = document.createElement("dt");
    var dd = document.createElement("dd");
    dt.textContent = label;
    dd.textContent = String(value);
    list.appendChild(dt);
    list.appendChild(dd);
  }

  function section(title) {
    var box = document.createElement("section");
    var heading = document.createElement("h2");
    heading.textContent = title;
    box.appendChild(heading);
    var list = document.createElement("dl");
    box.appendChild(list);
    detailsBody.appendChild(box);
    return list;
  }

  var DESCRIBE = {
    hotspots: function (p, list) {
      row(list, "Kind", String(p.layer).replace(/_/g, " "));
      row(list, "Points", p.member_count);
      row(list, "Referrals", p.referral_count);
      row(list, "Contacts", p.contact_count);
      row(list, "Seen bedded down", p.bedded_down_count);
      row(list, "Active since", p.first_activity_at);
      row(list, "Last activity", p.last_activity_at);
      if (p.hidden_members) {
        row(list, "Not shown", p.hidden_members + " (outside your teams or areas; position, "
          + "counts and times are of the points you may see, to the nearest 1 km and day)");
      }
      return "Hotspot " + p.id;
    },
    referrals: function (p, list) {
      row(list, "Status", p.status);
      row(list, "Outcome", p.outcome);
      row(list, "Urgent", p.urgent ? "yes" : "no");
      row(list, "Received", p.received_at);
      row(list, "Searches", p.attempts);
      loadReferral(p.id, list);
      return "Referral " + p.reference;
    },
    contacts: function (p, list) {
      row(list, "Seen", p.observed_at);
      row(list, "Bedded down", p.bedded_down ? "yes" : "no");
      row(list, "Contact", String(p.contact_type).replace(/_/g, " "));
      row(list, "Engagement", p.engagement);
      return "Contact";
    },
    cells: function (p, list) {
      row(list, "Count", p.label);
      row(list, "Month", p.month);
      row(list, "Note", "Outside your teams or areas: counts for the last whole month, " +
        "under 5 (or that would reveal one) not shown.");
      return "Activity elsewhere";
    }
  };

  function loadReferral(id, list) {
    fetch("/v1/referrals/" + encodeURIComponent(id), {
      headers: { Authorization: "Bearer " + token() }
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (d) {
      if (!d) { return; }
      row(list, "Where", d.location_description);
      row(list, "Site", d.site_type);
      row(list, "People", d.people_count);
      row(list, "Appearance", d.appearance);
      row(list, "Clothing", d.clothing);
      row(list, "Belongings", d.belongings);
      list.dataset.loaded = "1";
    });
  }

  function showDetails(event) {
    var layers = INTERACTIVE.filter(function (id) { return map.getLayer(id); });
    var features = map.queryRenderedFeatures(event.point, { layers: layers }).slice(0, 6);
    if (!features.length) { details.hidden = true; return; }
    detailsBody.textContent = "";
    features.forEach(function (feature) {
      var kind = feature.layer.id.indexOf("cells") >= 0 ? "cells" : feature.layer.id;
      var list = section("");
      list.parentNode.dataset.kind = kind;
      list.previousSibling.textContent = DESCRIBE[kind](feature.properties, list);
    });
    details.hidden = false;
  }

  if (token()) { start(); } else { showSignIn(""); }
})();
