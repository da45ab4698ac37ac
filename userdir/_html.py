"""The reconciliation report as one self-contained HTML page.

No CDN, no external file: CSS, the SVG overlap chart and the filter script are
inline, so the file can be mailed or attached to a ticket. Every value from a
provider is HTML-escaped. The filter box hides table rows that do not contain
its text; ``report.html#filter=ejento`` opens the page already filtered.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._reconcile import ReconciliationReport

__all__ = ["render_html"]

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem;
color:#1d2330}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:2rem 0 .5rem}
.muted{color:#5b6475}table{border-collapse:collapse;margin:.25rem 0 1rem;min-width:40%}
th,td{border-bottom:1px solid #e3e6ec;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f5f6f9;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;flex-wrap:wrap;gap:.75rem;margin:1rem 0}
.card{border:1px solid #e3e6ec;border-radius:8px;padding:.6rem .9rem;min-width:8rem}
.card b{display:block;font-size:1.4rem}
input#filter{font:inherit;padding:.4rem .6rem;width:22rem;border:1px solid #c9ced8;
border-radius:6px}
.bar{fill:#3b6fd8}.bar-label{font-size:12px;fill:#1d2330}.hidden{display:none}
"""

_SCRIPT = """
(function(){
  var box=document.getElementById('filter');
  function apply(){
    var q=box.value.trim().toLowerCase(),shown=0;
    document.querySelectorAll('tbody.filterable tr').forEach(function(tr){
      var hit=!q||tr.textContent.toLowerCase().indexOf(q)>=0;
      tr.classList.toggle('hidden',!hit);if(hit)shown++;
    });
    document.getElementById('shown').textContent=shown;
    document.querySelectorAll('section.details').forEach(function(s){
      s.classList.toggle('hidden',!s.querySelector('tbody tr:not(.hidden)'));
    });
  }
  box.addEventListener('input',apply);
  var m=location.hash.match(/filter=([^&]*)/);
  if(m){box.value=decodeURIComponent(m[1]);}
  apply();
})();
"""


def _table(title: str, section: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    body = "".join(
        "<tr>" + "".join(f"<td>{escape('' if c is None else str(c))}</td>" for c in row) + "</tr>"
        for row in rows
    )
    if not body:
        return ""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    return (
        f'<section class="details" id="{escape(section)}"><h2>{escape(title)}</h2>'
        f'<table><thead><tr>{head}</tr></thead><tbody class="filterable">{body}</tbody></table>'
        "</section>"
    )


def _overlap_chart(report: ReconciliationReport) -> str:
    """Horizontal bars: how many identities appear in each combination of providers."""
    combos = Counter(" + ".join(identity.providers) for identity in report.identities)
    ranked = combos.most_common()
    if not ranked:
        return "<p class='muted'>No identities.</p>"
    widest, bar_height, label_width, chart_width = ranked[0][1], 22, 260, 360
    height = bar_height * len(ranked) + 8
    parts = [
        f'<svg id="overlap-chart" role="img" aria-label="identities per provider combination" '
        f'width="{label_width + chart_width + 60}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for index, (combo, count) in enumerate(ranked):
        y = 4 + index * bar_height
        width = max(1, round(chart_width * count / widest))
        parts.append(
            f'<text class="bar-label" x="{label_width - 8}" y="{y + 15}" text-anchor="end">'
            f"{escape(combo)}</text>"
            f'<rect class="bar" x="{label_width}" y="{y + 3}" width="{width}" '
            f'height="{bar_height - 6}" rx="3"><title>{escape(combo)}: {count}</title></rect>'
            f'<text class="bar-label" x="{label_width + width + 6}" y="{y + 15}" '
            f'data-combo="{escape(combo)}">{count}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: ReconciliationReport, *, title: str = "userdir reconciliation") -> str:
    summary = report.summary()
    cards = [
        ("users", summary["users"]),
        ("identities", summary["identities"]),
        ("matched", summary["matched"]),
        ("conflicts", len(report.conflicts)),
        ("duplicates", summary["duplicates"]),
        ("unmatched", summary["unmatched"]),
        ("possible matches", len(report.possible_matches)),
    ]
    card_html = "".join(
        f'<div class="card"><b id="count-{name.replace(" ", "-")}">{value}</b>{escape(name)}</div>'
        for name, value in cards
    )
    per_provider = Counter(user.provider for i in report.identities for user in i.users)
    per_provider.update(user.provider for user in report.unmatched)
    provider_rows = "".join(
        f"<tr><td>{escape(p)}</td>"
        f'<td class="num" id="users-{escape(p)}">{per_provider[p]}</td>'
        f'<td class="num" id="only-in-{escape(p)}">{summary["only_in"].get(p, 0)}</td>'
        f'<td class="num" id="missing-from-{escape(p)}">{summary["missing_from"].get(p, 0)}</td>'
        "</tr>"
        for p in report.providers
    )
    sections = [
        _table(
            "Conflicts",
            "conflicts",
            ["kind", "identity", "values"],
            (
                (c.kind, c.identity.key, "; ".join(f"{k} = {v}" for k, v in c.values().items()))
                for c in report.conflicts
            ),
        ),
        *(
            _table(
                f"Only in {p}",
                f"only-in-{p}-table",
                ["id", "email", "name", "status"],
                ((u.id, u.email, u.full_name, u.status.value) for u in users),
            )
            for p, users in report.only_in.items()
        ),
        _table(
            "Duplicates",
            "duplicates",
            ["provider", "key", "users"],
            ((d.provider, d.key, ", ".join(u.id for u in d.users)) for d in report.duplicates),
        ),
        _table(
            "Possible matches (not merged: a human decides)",
            "possible-matches",
            ["key", "users", "why"],
            ((m.key, ", ".join(u.id for u in m.users), m.reason) for m in report.possible_matches),
        ),
        _table(
            "Unmatched",
            "unmatched",
            ["id", "name", "status"],
            ((u.id, u.full_name, u.status.value) for u in report.unmatched),
        ),
    ]
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f"<p class='muted'>Providers: {escape(', '.join(report.providers))}. "
        f"Matched on: {escape(', '.join(report.match_on))}.</p>"
        f'<div class="cards">{card_html}</div>'
        "<h2>Per provider</h2><table><thead><tr><th>provider</th><th>users</th>"
        "<th>only here</th><th>missing here</th></tr></thead>"
        f"<tbody>{provider_rows}</tbody></table>"
        f"<h2>Which providers each identity appears in</h2>{_overlap_chart(report)}"
        "<h2>Details</h2><p><input id='filter' type='search' placeholder='Filter rows "
        "(email, provider, kind…)' aria-label='filter rows'> "
        "<span class='muted'><span id='shown'>0</span> rows shown</span></p>"
        + "".join(sections)
        + f"<script>{_SCRIPT}</script></body></html>\n"
    )
