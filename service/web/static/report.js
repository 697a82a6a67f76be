// The report form's map pin: progressive enhancement only (the form works without it).
// The map shows nothing but the reporter's own pin: no other alerts, ever.
(function () {
  "use strict";
  var panel = document.getElementById("map-panel");
  var node = document.getElementById("map");
  if (!panel || !node || typeof maplibregl === "undefined") { return; }
  var lat = document.getElementById("lat");
  var lon = document.getElementById("lon");
  var accuracy = document.getElementById("accuracy_m");
  var status = document.getElementById("pin-status");
  var ESSEX = [0.65, 51.78];
  var blank = {
    version: 8, sources: {},
    layers: [{ id: "background", type: "background", paint: { "background-color": "#e8eef3" } }]
  };
  panel.hidden = false;
  var map = new maplibregl.Map({
    container: node, style: node.dataset.styleUrl || blank, center: ESSEX, zoom: 8,
    attributionControl: false
  });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
  // Orientation without a base map: the authorities' outlines (public boundaries only).
  map.on("load", function () {
    fetch("/v1/areas?simplify_m=250").then(function (r) { return r.ok ? r.json() : null; })
      .then(function (areas) {
        if (!areas) { return; }
        map.addSource("areas", { type: "geojson", data: areas });
        map.addLayer({ id: "areas-fill", type: "fill", source: "areas",
          paint: { "fill-color": "#ffffff", "fill-opacity": 0.6 } }, map.getStyle().layers[1] && map.getStyle().layers[1].id);
        map.addLayer({ id: "areas-line", type: "line", source: "areas",
          paint: { "line-color": "#505a5f", "line-width": 1 } });
      });
  });
  var marker = null;

  function place(lngLat, metres) {
    if (!marker) { marker = new maplibregl.Marker({ draggable: true }).setLngLat(lngLat).addTo(map); }
    marker.setLngLat(lngLat);
    marker.on("dragend", function () { place(marker.getLngLat(), 25); });
    lat.value = lngLat.lat.toFixed(6);
    lon.value = lngLat.lng.toFixed(6);
    accuracy.value = String(Math.round(metres));
    status.textContent = "Pin placed at " + lat.value + ", " + lon.value + ".";
  }

  map.on("click", function (event) { place(event.lngLat, 25); });
  if (lat.value && lon.value) { place({ lng: Number(lon.value), lat: Number(lat.value) }, Number(accuracy.value || 25)); }

  document.getElementById("use-location").addEventListener("click", function () {
    if (!navigator.geolocation) { status.textContent = "Your browser cannot share its location."; return; }
    navigator.geolocation.getCurrentPosition(function (pos) {
      var here = { lng: pos.coords.longitude, lat: pos.coords.latitude };
      map.jumpTo({ center: [here.lng, here.lat], zoom: 16 });
      place(here, pos.coords.accuracy);
    }, function () { status.textContent = "Could not get your location: tap the map instead."; });
  });
})();
