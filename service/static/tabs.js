// Tabs after the WAI-ARIA pattern: click or arrow keys switch, and only the selected
// tab is in the tab order. A tab the reader's key does not open (Watches without one)
// is hidden: skipped by the arrow keys, and left for the first tab if it was selected.
export function setUpTabs(tablist) {
  const tabs = [...tablist.querySelectorAll("[role=tab]")];

  function select(tab) {
    for (const each of tabs) {
      const selected = each === tab;
      each.setAttribute("aria-selected", String(selected));
      each.tabIndex = selected ? 0 : -1;
      document.getElementById(each.getAttribute("aria-controls")).hidden = !selected;
    }
    tab.dispatchEvent(new Event("tabselect")); // by click, key or script: the tab may refresh
  }

  function setAvailable(tab, available) {
    tab.hidden = !available;
    if (!available && tab.getAttribute("aria-selected") === "true") select(tabs[0]);
  }

  tablist.addEventListener("click", (event) => {
    const tab = event.target.closest("[role=tab]");
    if (tab) select(tab);
  });
  tablist.addEventListener("keydown", (event) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    const shown = tabs.filter((tab) => !tab.hidden);
    const next = shown[(shown.indexOf(document.activeElement) + step + shown.length)
      % shown.length];
    select(next);
    next.focus();
  });
  return { select, setAvailable };
}
