/**
 * The report's only script: the detections table, filtered and sorted in the page. It reads the
 * data block as JSON and builds every cell with textContent, so no value is ever parsed as HTML.
 */
export const REPORT_SCRIPT = String.raw`
(() => {
  'use strict';
  const LEVELS = ['informational', 'low', 'medium', 'high', 'critical'];
  const PAGE = 500;
  const data = JSON.parse(document.getElementById('report-data').textContent);
  const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;
  // Controls and invisible or direction-changing characters are shown as \uXXXX, as in the terminal table.
  const printable = (text) => String(text).replace(UNSAFE, (c) => (c === '\r' ? '' : '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')));
  const valueText = (v) => (typeof v === 'string' ? v : Array.isArray(v) ? v.map(valueText).join(', ') : v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v));
  const oneLine = (text) => printable(text).replace(/[\t\n]/g, ' ');
  const timeText = (iso) => (iso === null ? '-' : iso.replace('T', ' ').slice(0, 19));
  const channelText = (c) => (c === null ? '-' : c.replace(/^Microsoft-Windows-/, '').replace(/\/Operational$/, ''));

  const rows = data.rows.map((r, index) => {
    const rule = data.rules[r[0]];
    const fields = r[7];
    const row = { index, rule, rank: LEVELS.indexOf(rule.level), timestamp: r[1], computer: r[2], channel: r[3], eventId: r[4], recordId: r[5], file: r[6], fields, layer: r[8], category: r[9] };
    row.details = Object.keys(fields).map((k) => k + ': ' + valueText(fields[k])).join(' \u00a6 ');
    row.haystack = [timeText(row.timestamp), rule.level, row.computer, row.channel, row.eventId, rule.title, rule.id, row.details, row.file, rule.tags.join(' ')].join('\n').toLowerCase();
    return row;
  });

  const table = document.getElementById('detections');
  const body = table.querySelector('tbody');
  const textFilter = document.getElementById('filter-text');
  const levelFilter = document.getElementById('filter-level');
  const computerFilter = document.getElementById('filter-computer');
  const status = document.getElementById('table-status');
  const more = document.getElementById('show-more');
  const state = { key: null, descending: false, limit: PAGE, shown: rows };

  const computers = [...new Set(rows.map((r) => r.computer).filter((c) => c !== null))].sort();
  for (const computer of computers) {
    const option = document.createElement('option');
    option.value = computer;
    option.textContent = oneLine(computer);
    computerFilter.append(option);
  }

  const compare = {
    timestamp: (a, b) => (a.timestamp === b.timestamp ? 0 : a.timestamp === null ? 1 : b.timestamp === null ? -1 : a.timestamp < b.timestamp ? -1 : 1),
    level: (a, b) => a.rank - b.rank,
    computer: (a, b) => String(a.computer ?? '').localeCompare(String(b.computer ?? '')),
    channel: (a, b) => String(a.channel ?? '').localeCompare(String(b.channel ?? '')),
    eventId: (a, b) => (a.eventId ?? -1) - (b.eventId ?? -1),
    rule: (a, b) => a.rule.title.localeCompare(b.rule.title),
    details: (a, b) => a.details.localeCompare(b.details),
  };

  function cell(tr, text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    tr.append(td);
    return td;
  }

  function levelBadge(level) {
    const span = document.createElement('span');
    span.className = 'badge b-' + level;
    span.textContent = level;
    return span;
  }

  function detailRow(row) {
    const tr = document.createElement('tr');
    tr.className = 'detail';
    const td = document.createElement('td');
    td.colSpan = 7;
    const list = document.createElement('dl');
    list.className = 'fields';
    const rule = row.rule;
    const entries = [
      ['rule_title', rule.title], ['rule_id', rule.id], ['level', rule.level], ['status', rule.status], ['kind', rule.kind],
      ['tags', rule.tags.join(', ')], ['attack', rule.attack.tactics.concat(rule.attack.techniques).join(', ')], ['rule_file', rule.rule_file],
      ['timestamp', row.timestamp], ['computer', row.computer], ['channel', row.channel], ['event_id', row.eventId], ['record_id', row.recordId],
      ['file', row.file], ['layer', row.layer], ['category', row.category],
    ];
    for (const name of Object.keys(row.fields)) entries.push(['fields.' + name, valueText(row.fields[name])]);
    for (const [name, value] of entries) {
      if (value === null || value === undefined || value === '') continue;
      const dt = document.createElement('dt');
      dt.textContent = name;
      const dd = document.createElement('dd');
      const pre = document.createElement('pre');
      pre.textContent = printable(value);
      dd.append(pre);
      list.append(dt, dd);
    }
    td.append(list);
    tr.append(td);
    return tr;
  }

  function rowElement(row) {
    const tr = document.createElement('tr');
    tr.className = 'row';
    cell(tr, timeText(row.timestamp), 'time');
    cell(tr, '').append(levelBadge(row.rule.level));
    cell(tr, oneLine(row.computer ?? '-'));
    cell(tr, oneLine(channelText(row.channel)));
    cell(tr, row.eventId === null ? '-' : String(row.eventId), 'num');
    cell(tr, oneLine(row.rule.title));
    const details = document.createElement('div');
    details.className = 'clamp';
    details.textContent = oneLine(row.details.length > 600 ? row.details.slice(0, 600) + '\u2026' : row.details);
    cell(tr, '', 'details').append(details);
    tr.addEventListener('click', () => {
      const next = tr.nextElementSibling;
      if (next && next.classList.contains('detail')) next.remove();
      else tr.after(detailRow(row));
    });
    return tr;
  }

  function render() {
    body.replaceChildren(...state.shown.slice(0, state.limit).map(rowElement));
    const visible = Math.min(state.limit, state.shown.length);
    status.textContent = 'Showing ' + visible.toLocaleString('en-US') + ' of ' + state.shown.length.toLocaleString('en-US') + ' matching detections.';
    more.hidden = visible >= state.shown.length;
  }

  function update() {
    const terms = textFilter.value.toLowerCase().split(/\s+/).filter(Boolean);
    const minRank = LEVELS.indexOf(levelFilter.value);
    const computer = computerFilter.value;
    let shown = rows.filter((r) => r.rank >= minRank && (computer === '' || r.computer === computer) && terms.every((t) => r.haystack.includes(t)));
    if (state.key) {
      const by = compare[state.key];
      const sign = state.descending ? -1 : 1;
      shown = shown.slice().sort((a, b) => sign * by(a, b) || a.index - b.index);
    }
    state.shown = shown;
    state.limit = PAGE;
    render();
  }

  for (const th of table.querySelectorAll('th[data-key]')) {
    th.addEventListener('click', () => {
      const key = th.dataset.key;
      state.descending = state.key === key ? !state.descending : key === 'level';
      state.key = key;
      for (const other of table.querySelectorAll('th[data-key]')) other.removeAttribute('aria-sort');
      th.setAttribute('aria-sort', state.descending ? 'descending' : 'ascending');
      update();
    });
  }
  textFilter.addEventListener('input', update);
  levelFilter.addEventListener('change', update);
  computerFilter.addEventListener('change', update);
  more.addEventListener('click', () => {
    state.limit += PAGE;
    render();
  });
  document.getElementById('table-controls').hidden = false;
  update();
})();
`;
