// The live view: the latest frame and the lane's figures, fetched once a second. A 401 means
// the session has expired: back to the login page.
(function () {
  var view = document.getElementById("live-view");
  if (!view) return;
  var img = document.getElementById("live-frame");
  function set(id, value) {
    var el = document.getElementById(id);
    if (el && value !== undefined && value !== null) el.textContent = value;
  }
  function tick() {
    fetch(view.dataset.status, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) {
        if (r.status === 401) { window.location = "/login?next=/"; throw new Error("logged out"); }
        return r.json();
      })
      .then(function (s) {
        set("fps", s.frames_analysed_per_second);
        set("fps-seen", s.frames_per_second);
        set("event-count", s.events);
        set("lane", s.lane);
        if (s.updated) set("updated", new Date(s.updated * 1000).toLocaleTimeString());
        var cam = document.getElementById("camera");
        document.getElementById("stopped").hidden = !!s.alive;
        if (cam) cam.textContent = s.camera_connected && s.alive ? cam.dataset.yes : cam.dataset.no;
        img.src = view.dataset.frame + "?t=" + Date.now();
      })
      .catch(function () {});
  }
  setInterval(tick, 1000);
  tick();
})();
