// The API documentation page: Swagger UI from local assets, no inline script, no CDN.
(function () {
  var node = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({ url: node.dataset.specUrl, dom_id: "#swagger-ui", deepLinking: true });
})();
