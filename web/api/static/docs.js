// Start Swagger UI on the docs page; the document URL comes from the page, nothing loads from elsewhere.
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  document.getElementById("operation-list").hidden = true;
  window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,  // the default validator badge calls a public server; this page stays offline
    defaultModelsExpandDepth: 0,
  });
});
