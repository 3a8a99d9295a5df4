// Live updates for the inbox: on a server-sent `changed` event, fetch the fresh fragment and swap it in.
(function () {
  const box = document.querySelector("[data-live]");
  if (!box || !window.EventSource) return;
  const thread = box.dataset.thread;
  let pending = false;
  async function refresh() {
    if (pending) return;
    pending = true;
    try {
      const answer = await fetch(box.dataset.refresh, { credentials: "same-origin" });
      if (answer.ok) box.innerHTML = await answer.text();
    } finally {
      pending = false;
    }
  }
  const source = new EventSource(box.dataset.live);
  source.addEventListener("changed", (event) => {
    if (!thread || event.data === thread) refresh();
  });
  if (thread) setInterval(refresh, 3000); // delivery statuses of our answers change without a new reply
})();
