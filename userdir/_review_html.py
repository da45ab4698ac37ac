"""The access review as one self-contained HTML page.

Input is ``ReviewReport.to_dict()`` (schema ``userdir.review/1``), so a saved JSON
review renders the same page as a live one. Nothing is fetched: CSS, the seat bars
(inline SVG) and the table script are inline, and a Content-Security-Policy allows
only those two blocks (by hash), so the page makes no request even if opened from a
mail attachment.

Every provider and roster value is HTML-escaped (quotes too, since values also go
into ``data-`` attributes); the script is a constant that reads those attributes and
writes only ``textContent``, never markup, and no JSON is embedded. The table
filters by kind, tool, flagged and free text (``#q=...&kind=...&tool=...&flagged=1``
in the URL hash opens it filtered, and the hash follows the controls), sorts on a
header click, and starts ordered by severity.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from ._errors import ConfigurationError
from ._html import _CSS as _BASE_CSS

__all__ = ["render_review_html"]

SCHEMA = "userdir.review/1"

#: Display order and wording of the finding kinds; a kind not listed still renders.
_KINDS = {
    "leaver_active": "leaver still active",
    "orphan": "orphan",
    "dormant": "dormant",
    "stale_invite": "stale invite",
    "privileged": "privileged",
    "guest": "guest",
}
_SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2, "info": 3}
#: Kinds that only a roster can find.
_NEEDS_ROSTER = ("leaver_active", "orphan")
#: Seat bars, in order; dormant is a subset of active, so the bars are not stacked.
_SEAT_BARS = ("active", "guests", "invited", "inactive", "dormant")

_CSS = (
    _BASE_CSS
    + """
.banner{border:2px solid #b42318;background:#fef3f2;color:#7a271a;border-radius:8px;
padding:.6rem .9rem;margin:1rem 0}.banner b{color:#b42318}
.card small{display:block;color:#5b6475}.card.zero{opacity:.6}
.seats svg{display:block}.seat{fill:#3b6fd8}.seat-dormant{fill:#d97706}
.seat-unknown{fill:none;stroke:#98a2b3;stroke-dasharray:4 3}
.controls{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.5rem 0}
.controls input,.controls select{font:inherit;padding:.35rem .5rem;border:1px solid #c9ced8;
border-radius:6px}#q{width:20rem}
#findings th{cursor:pointer}
th button{font:inherit;font-weight:600;background:none;border:0;padding:0;cursor:pointer}
th[aria-sort=ascending] button::after{content:" \\25B2"}
th[aria-sort=descending] button::after{content:" \\25BC"}
.sev{display:inline-block;border-radius:4px;padding:0 .4rem;font-size:12px;color:#fff}
.sev-high{background:#b42318}.sev-medium{background:#d97706}.sev-low{background:#4e5ba6}
.sev-info{background:#667085}.flag{color:#b42318;font-weight:600}
tr.row-high td:first-child{box-shadow:inset 3px 0 #b42318}
tr.row-medium td:first-child{box-shadow:inset 3px 0 #d97706}
td.date{white-space:nowrap}td.evidence{max-width:32rem}
"""
)

_SCRIPT = """
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const body = $('findings-body'), q = $('q'), kind = $('kind'), tool = $('tool'),
        flagged = $('flagged'), shown = $('shown'), none = $('no-rows');
  // Lower-cased text once, not per keystroke: a review can hold many thousand rows.
  const rows = Array.from(body.querySelectorAll('tr[data-kind]'), (tr, order) =>
    ({tr, order, text: tr.textContent.toLowerCase()}));
  function apply() {
    const s = q.value.trim().toLowerCase(), k = kind.value, t = tool.value, f = flagged.checked;
    let n = 0;
    for (const r of rows) {
      const d = r.tr.dataset;
      const hit = (!k || d.kind === k) && (!t || d.provider === t)
        && (!f || d.flagged === '1') && (!s || r.text.includes(s));
      r.tr.hidden = !hit;
      if (hit) n++;
    }
    shown.textContent = n;
    none.hidden = n > 0;
    const h = new URLSearchParams();
    if (s) h.set('q', q.value.trim());
    if (k) h.set('kind', k);
    if (t) h.set('tool', t);
    if (f) h.set('flagged', '1');
    const hash = h.toString();
    history.replaceState(null, '', hash ? '#' + hash : location.pathname + location.search);
  }
  function fromHash() {
    // URLSearchParams never throws on a malformed %-escape (decodeURIComponent does).
    const h = new URLSearchParams(location.hash.slice(1));
    q.value = h.get('q') || '';
    kind.value = h.get('kind') || '';
    if (kind.selectedIndex < 0) kind.value = '';
    tool.value = h.get('tool') || '';
    if (tool.selectedIndex < 0) tool.value = '';
    flagged.checked = h.get('flagged') === '1';
    apply();
  }
  const collator = new Intl.Collator(undefined, {numeric: true, sensitivity: 'base'});
  const heads = Array.from(document.querySelectorAll('#findings thead th'));
  heads.forEach((th) => th.addEventListener('click', () => {  // the button's click bubbles
    const dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
    heads.forEach((o) => o.removeAttribute('aria-sort'));
    th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
    const col = th.cellIndex;
    const key = new Map(rows.map((r) => {
      const c = r.tr.cells[col];
      return [r, c.dataset.sort !== undefined ? c.dataset.sort : c.textContent.trim()];
    }));
    rows.sort((a, b) => {
      const x = key.get(a), y = key.get(b);
      if (!x !== !y) return x ? -1 : 1;  // empty values last, either direction
      return dir * collator.compare(x, y) || a.order - b.order;
    });
    const frag = document.createDocumentFragment();  // not append(...rows): arg limits
    for (const r of rows) frag.appendChild(r.tr);
    body.appendChild(frag);
  }));
  for (const el of [q, kind, tool, flagged]) el.addEventListener('input', apply);
  window.addEventListener('hashchange', fromHash);
  fromHash();
})();
"""


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


#: Only the two inline blocks above may run or style; nothing may be fetched.
_CSP = (
    f"default-src 'none'; script-src {_csp_hash(_SCRIPT)}; style-src {_csp_hash(_CSS)}; "
    "base-uri 'none'; form-action 'none'"
)


def _e(value: Any) -> str:
    """Escaped text, quotes included: the same call is safe in text and in attributes."""
    return escape("" if value is None else str(value), quote=True)


def _label(kind: str) -> str:
    return _KINDS.get(kind, kind.replace("_", " "))


def _ordered(known: Iterable[str], *extra: Iterable[str]) -> list[str]:
    """*known* first, then anything else seen in *extra*, each once."""
    seen = dict.fromkeys(known)
    for names in extra:
        seen.update(dict.fromkeys(names))
    return list(seen)


def _number(value: Any) -> Any:
    """90.0 -> 90: settings arrive as float days."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _header(data: Mapping[str, Any], providers: Sequence[str], title: str) -> str:
    settings = data.get("settings") or {}
    roster = data.get("roster")
    roster_text = (
        f"roster <b>{_e(roster.get('source'))}</b> ({_e(roster.get('people'))} people)"
        if roster
        else "<b>no roster</b>: leavers and orphans need one, so they were not checked"
    )
    allow = settings.get("allow") or []
    return (
        f"<h1>{_e(title)}</h1><p class='muted' id='meta'>"
        f"As of {_e(data.get('now'))} (generated {_e(data.get('generated_at'))}). "
        f"Tools: {_e(', '.join(providers))}. {roster_text}. "
        f"Dormant after {_e(_number(settings.get('inactive_after_days')))} days without a login; "
        f"invitations stale after {_e(_number(settings.get('invite_expires_after_days')))} days; "
        f"allow-list: {_e(', '.join(allow)) if allow else 'none'}.</p>"
    )


def _completeness(incomplete: Sequence[str], unrecorded: Sequence[str]) -> str:
    """A banner for listings known to be partial; a note where nobody said either way."""
    banner = (
        '<div class="banner" id="incomplete" role="alert"><b>Incomplete review</b> for '
        f"{_e(', '.join(incomplete))}: the listing was not complete, so the findings and seat "
        "counts there cover only the accounts that were read. A missing finding for "
        "those tools proves nothing.</div>"
        if incomplete
        else ""
    )
    note = (
        f"<p class='muted' id='completeness-unrecorded'>Not recorded whether the listing of "
        f"{_e(', '.join(unrecorded))} was complete.</p>"
        if unrecorded
        else ""
    )
    return banner + note


def _cards(summary: Mapping[str, Any], kinds: Sequence[str], has_roster: bool) -> str:
    by_kind = summary.get("by_kind") or {}
    flagged_by_kind = summary.get("flagged_by_kind") or {}
    cards = [
        f'<div class="card"><b id="count-findings">{_e(summary.get("findings", 0))}</b>'
        f'findings<small><span id="flagged-findings">{_e(summary.get("flagged", 0))}</span>'
        " flagged</small></div>"
    ]
    for kind in kinds:
        count = by_kind.get(kind, 0)
        if kind in _NEEDS_ROSTER and not has_roster:  # a 0 here would read as "none found"
            cards.append(
                f'<div class="card zero" data-kind="{_e(kind)}"><b id="count-{_e(kind)}">'
                f"&ndash;</b>{_e(_label(kind))}<small>not checked: no roster</small></div>"
            )
            continue
        cards.append(
            f'<div class="card{"" if count else " zero"}" data-kind="{_e(kind)}">'
            f'<b id="count-{_e(kind)}">{_e(count)}</b>{_e(_label(kind))}'
            f'<small><span id="flagged-{_e(kind)}">{_e(flagged_by_kind.get(kind, 0))}</span>'
            " flagged</small></div>"
        )
    return f'<div class="cards" id="summary">{"".join(cards)}</div>'


def _unknowns(unknowns: Sequence[Mapping[str, Any]]) -> str:
    if not unknowns:
        return ""
    items = "".join(
        f'<li data-provider="{_e(u.get("provider"))}" data-check="{_e(u.get("check"))}">'
        f"<b>{_e(u.get('provider'))}</b>: {_e(_label(str(u.get('check'))))} is "
        f"<b>unknown</b> for {_e(u.get('accounts'))} accounts ({_e(u.get('reason'))}).</li>"
        for u in unknowns
    )
    return (
        "<h2>What the review could not tell</h2>"
        f'<ul id="unknowns">{items}</ul>'
        "<p class='muted'>Unknown is not the same as fine: check these by hand.</p>"
    )


def _seat_svg(seats: Mapping[str, Any]) -> str:
    """One bar per count, scaled to the tool's accounts (tools of any size stay readable)."""
    total = max(int(seats.get("accounts") or 0), 1)
    row, label_width, bar_width = 18, 70, 220
    parts = [
        f'<svg role="img" aria-label="seats" width="{label_width + bar_width + 70}" '
        f'height="{row * len(_SEAT_BARS) + 4}">'
    ]
    for index, name in enumerate(_SEAT_BARS):
        y, count = 2 + index * row, seats.get(name)
        parts.append(
            f'<text class="bar-label" x="{label_width - 6}" y="{y + 13}" '
            f'text-anchor="end">{name}</text>'
        )
        if count is None:
            parts.append(
                f'<rect class="seat-unknown" x="{label_width}" y="{y + 3}" width="{bar_width}" '
                f'height="{row - 6}"><title>{name}: unknown</title></rect>'
                f'<text class="bar-label" x="{label_width + bar_width + 6}" y="{y + 13}">'
                "unknown</text>"
            )
            continue
        width = round(bar_width * min(int(count), total) / total)
        if count and not width:
            width = 1  # a non-zero count is never drawn as nothing
        parts.append(
            f'<rect class="seat seat-{name}" x="{label_width}" y="{y + 3}" width="{width}" '
            f'height="{row - 6}" rx="2"><title>{name}: {_e(count)}</title></rect>'
            f'<text class="bar-label" x="{label_width + width + 6}" y="{y + 13}">'
            f"{_e(count)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _cost(seats: Mapping[str, Any]) -> str:
    cost = seats.get("monthly_cost")
    if cost is None:
        return "<span class='muted'>no price given</span>"
    dormant = "unknown" if seats.get("dormant") is None else _money(cost.get("dormant", 0))
    return (
        f"leaver {_money(cost.get('leaver_active', 0))} · orphan "
        f"{_money(cost.get('orphan', 0))} · dormant {dormant}<br>"
        f"<b data-cost='total'>{_money(cost.get('total', 0))}</b> a month at "
        f"{_money(seats.get('price') or 0)} a seat"
    )


def _seats(
    seats: Mapping[str, Mapping[str, Any]], providers: Sequence[str], incomplete: Sequence[str]
) -> str:
    counts = ("accounts", "active", "members", "guests", "invited", "inactive", "deleted")
    rows = []
    for provider in providers:
        tool = seats.get(provider)
        if tool is None:
            continue
        cells = "".join(
            f'<td class="num" data-seat="{name}">{_e(tool.get(name, 0))}</td>' for name in counts
        )
        dormant = tool.get("dormant")
        note = ' <span class="flag">incomplete</span>' if provider in incomplete else ""
        rows.append(
            f'<tr data-provider="{_e(provider)}"><td><b>{_e(provider)}</b>{note}</td>'
            f"<td>{_seat_svg(tool)}</td>{cells}"
            f'<td class="num" data-seat="dormant">{"unknown" if dormant is None else _e(dormant)}'
            f'</td><td data-seat="cost">{_cost(tool)}</td></tr>'
        )
    if not rows:
        return ""
    head = "".join(f"<th>{name}</th>" for name in ("tool", "seats", *counts, "dormant"))
    totals = [
        float((tool.get("monthly_cost") or {}).get("total", 0))
        for tool in seats.values()
        if tool.get("monthly_cost") is not None
    ]
    total = (
        f"<p>Monthly cost of leaver, orphan and dormant seats: "
        f"<b id='monthly-cost'>{_money(sum(totals))}</b>.</p>"
        if totals
        else ""
    )
    return (
        '<h2>Seats per tool</h2><table class="seats" id="seats"><thead><tr>'
        f"{head}<th>cost of leaver, orphan, dormant seats</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>{total}"
    )


def _sort_key(finding: Mapping[str, Any]) -> tuple[int, bool, int, str, str]:
    kind = str(finding.get("kind"))
    kinds = list(_KINDS)
    return (
        _SEVERITY_RANK.get(str(finding.get("severity")), len(_SEVERITY_RANK)),
        not finding.get("flagged"),
        kinds.index(kind) if kind in kinds else len(kinds),
        str(finding.get("provider")),
        str(finding.get("user_id")),
    )


def _person(person: Mapping[str, Any] | None, has_roster: bool) -> str:
    if person is None:
        return "<span class='muted'>no roster person</span>" if has_roster else ""
    left = person.get("terminated_on")
    details = [
        _e(person.get("email")),
        f"employee {_e(person.get('employee_id'))}" if person.get("employee_id") else "",
        _e(person.get("status")),
        f"left {_e(left)}" if left else "",
    ]
    return f"<b>{_e(person.get('name'))}</b><br>" + " · ".join(d for d in details if d)


def _row(finding: Mapping[str, Any], no_login_field: set[str], has_roster: bool) -> str:
    kind, provider = str(finding.get("kind")), str(finding.get("provider"))
    severity, flagged = str(finding.get("severity")), bool(finding.get("flagged"))
    login = finding.get("last_login_at")
    if login:
        login_cell = (
            f'<td class="date" data-sort="{_e(login)}" title="{_e(login)}">'
            f"{_e(str(login)[:10])}</td>"
        )
    else:
        # None means "never" only where the tool reports logins at all.
        login_cell = f'<td data-sort="">{"unknown" if provider in no_login_field else "never"}</td>'
    groups = finding.get("groups")
    groups_text = (
        "groups not reported"
        if groups is None
        else (f"groups: {', '.join(map(str, groups))}" if groups else "no groups")
    )
    roles = ", ".join(map(str, finding.get("roles") or ()))
    roles_html = f"{_e(roles)}<br>" if roles else ""
    account = " · ".join(
        _e(v) for v in (finding.get("email"), finding.get("user_id")) if v is not None
    )
    return (
        f'<tr class="row-{_e(severity)}" data-kind="{_e(kind)}" data-provider="{_e(provider)}" '
        f'data-severity="{_e(severity)}" data-flagged="{int(flagged)}">'
        f'<td data-sort="{_SEVERITY_RANK.get(severity, 9)}">'
        f'<span class="sev sev-{_e(severity)}">{_e(severity)}</span></td>'
        f'<td data-sort="{0 if flagged else 1}">'
        f"{'<span class=flag>flagged</span>' if flagged else ''}</td>"
        f"<td>{_e(_label(kind))}</td><td>{_e(provider)}</td>"
        f"<td><b>{_e(finding.get('name'))}</b><br>{account}</td>"
        f"<td>{_e(finding.get('status'))}</td>"
        f"<td>{roles_html}<span class='muted'>{_e(groups_text)}</span></td>"
        f"{login_cell}<td>{_person(finding.get('person'), has_roster)}</td>"
        f'<td class="evidence">{_e(finding.get("evidence"))}</td></tr>'
    )


def _findings(data: Mapping[str, Any], kinds: Sequence[str], tools: Sequence[str]) -> str:
    findings = sorted(data.get("findings") or (), key=_sort_key)
    by_kind = (data.get("summary") or {}).get("by_kind") or {}
    no_login_field = {
        str(u.get("provider")) for u in data.get("unknowns") or () if u.get("check") == "dormant"
    }
    has_roster = data.get("roster") is not None
    kind_options = "".join(
        f'<option value="{_e(k)}">{_e(_label(k))} ({_e(by_kind.get(k, 0))})</option>' for k in kinds
    )
    tool_options = "".join(f'<option value="{_e(t)}">{_e(t)}</option>' for t in tools)
    columns = (
        "severity",
        "flag",
        "kind",
        "tool",
        "account",
        "status",
        "roles / groups",
        "last login",
        "roster person",
        "evidence",
    )
    head = "".join(f'<th scope="col"><button type="button">{c}</button></th>' for c in columns)
    body = "".join(_row(f, no_login_field, has_roster) for f in findings)
    return (
        "<h2>Findings</h2><div class='controls'>"
        "<input id='q' type='search' placeholder='Search name, email, role, evidence…' "
        "aria-label='search findings'>"
        f"<select id='kind' aria-label='kind'><option value=''>all kinds</option>{kind_options}"
        "</select>"
        f"<select id='tool' aria-label='tool'><option value=''>all tools</option>{tool_options}"
        "</select><label><input id='flagged' type='checkbox'> flagged only</label>"
        f"<span class='muted'><b id='shown'>{len(findings)}</b> of {len(findings)} shown</span>"
        "</div>"
        f'<table id="findings"><thead><tr>{head}</tr></thead>'
        f'<tbody id="findings-body">{body}</tbody></table>'
        "<p id='no-rows' class='muted' hidden>No finding matches.</p>"
    )


def render_review_html(data: Mapping[str, Any], *, title: str = "userdir access review") -> str:
    """The page for ``ReviewReport.to_dict()``; raises ConfigurationError on another schema."""
    if data.get("schema") != SCHEMA:
        raise ConfigurationError(
            f"review HTML: expected a {SCHEMA} review, got schema {data.get('schema')!r}"
        )
    complete = data.get("complete") or {}
    findings = data.get("findings") or ()
    providers = _ordered(
        data.get("providers") or (), complete, (str(f.get("provider")) for f in findings)
    )
    incomplete = [p for p in providers if complete.get(p) is False]
    unrecorded = [p for p in providers if p not in complete]
    summary = data.get("summary") or {}
    kinds = _ordered(_KINDS, summary.get("by_kind") or {}, (str(f.get("kind")) for f in findings))
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
        + _header(data, providers, title)
        + _completeness(incomplete, unrecorded)
        + _cards(summary, kinds, data.get("roster") is not None)
        + _unknowns(data.get("unknowns") or ())
        + _seats(data.get("seats") or {}, providers, incomplete)
        + _findings(data, kinds, providers)
        + f"<script>{_SCRIPT}</script></body></html>\n"
    )
