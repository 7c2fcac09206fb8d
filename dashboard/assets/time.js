// Times as the page shows them: in the reader's locale and time zone, with
// the server's exact RFC 3339 value in the element's datetime and title.

/** timeElement returns a <time> for an RFC 3339 string. */
export function timeElement(iso) {
  const t = document.createElement("time");
  t.dateTime = iso;
  t.title = iso;
  const d = new Date(iso);
  t.textContent = Number.isNaN(d.getTime())
    ? iso
    : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  return t;
}
