"""The report as one static HTML page: tables, figures, a little inline JavaScript.

The page needs nothing but itself and its images (in ``images/`` beside it, or in one
folder shared by every report of a data folder): no network, no external style sheet,
font or script. Without JavaScript it shows everything; with it, the tables sort by any
column (click a heading) and a dataset, model or text filter hides what does not match.
The filter and sort are kept in the address
(``#dataset=aclimdb&sort=runs:accuracy:descending``), so a filtered view can be
bookmarked. Every text that comes from a file (parameter values, class names, folder
names) is escaped: it shows as text, never as markup; and a content security policy
lets only the page's own script run and forbids any request.
"""
from __future__ import annotations

import base64
import hashlib
import html
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .collect import METRIC, METRICS, Collection, Grid, Group, Run
from .figures import Images


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def number(value: Any, digits: int) -> str:
    """A figure as shown: ``digits`` decimals, blank when absent, ``nan`` when not
    finite."""
    if value is None or isinstance(value, bool):
        return ""
    if not isinstance(value, (int, float)):
        return str(value)
    if not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if digits == 0:
        return f"{value:.0f}"
    return f"{value:.{digits}f}"


def when(stamp: float | None) -> str:
    return "" if stamp is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def sort_value(value: Any) -> str:
    """What a cell sorts by (``data-sort``): the full number, empty when there is none."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    return repr(float(value)) if math.isfinite(value) else ""


def cell(value: Any, digits: int = 4) -> str:
    """A table cell; an integer shows no decimals."""
    if isinstance(value, int) and not isinstance(value, bool):
        digits = 0
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'<td class="n" data-sort="{sort_value(value)}">{esc(number(value, digits))}</td>'
    return f"<td>{esc('' if value is None else value)}</td>"


def head(columns: Iterable[tuple[str, str, str]]) -> str:
    """``<thead>`` of ``(key, label, tooltip)`` columns."""
    cells = "".join(f'<th data-key="{esc(key)}"{f" title={q(tip)}" if tip else ""}>'
                    f"{esc(label)}</th>" for key, label, tip in columns)
    return f"<thead><tr>{cells}</tr></thead>"


def q(text: str) -> str:
    return f'"{esc(text)}"'


def parameters_text(parameters: Mapping[str, str], names: Sequence[str]) -> str:
    return ", ".join(f"{name}={parameters[name]}" for name in names if name in parameters)


def filtered(dataset: str, models: Iterable[str], kind: str) -> str:
    """The attributes the filter reads."""
    return (f'class="{kind}" data-dataset="{esc(dataset)}" '
            f'data-models="{esc(" ".join(models))}"')


# -------------------------------------------------------------------------- sections

def runs_table(collection: Collection, varying: Sequence[str]) -> str:
    columns = [("run", "run", "The EvaluateTest folder (click: the run's figures)"),
               ("dataset", "dataset", ""), ("model", "model", ""), ("seed", "seed", ""),
               ("parameters", "parameters", "Parameters whose values differ between runs "
                                            "of the same dataset")]
    columns += [(m.name, m.label, m.help) for m in METRICS]
    columns.append(("when", "when", "When its metrics were written"))
    rows = []
    ordered = sorted(collection.runs, key=lambda r: (r.dataset, r.model, -_or(
        r.metrics.get("accuracy"), -1.0), r.task_id))
    for run in ordered:
        seed = run.seed
        cells = [f'<td class="id"><a href="#run-{esc(run.key)}" title="{esc(run.task_id)}">'
                 f"<code>{esc(run.short)}</code></a></td>",
                 cell(run.dataset), cell(run.model),
                 f'<td class="n" data-sort="{esc(seed)}">{esc(seed)}</td>',
                 f'<td class="params">{esc(parameters_text(run.parameters, varying))}</td>']
        cells += [cell(run.metrics.get(m.name), m.digits) for m in METRICS]
        cells.append(f'<td class="n" data-sort="{sort_value(run.when)}">{esc(when(run.when))}'
                     f"</td>")
        rows.append(f'<tr {filtered(run.dataset, [run.model], "item run-row")}>'
                    f'{"".join(cells)}</tr>')
    return (f'<div class="scroll"><table class="sortable" id="runs">{head(columns)}'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def _or(value: float | None, default: float) -> float:
    return default if value is None or not math.isfinite(value) else value


def groups_section(groups: Sequence[Group], varying: Sequence[str]) -> str:
    if not groups:
        return ("<p>No two runs differ only by their seed yet. Train a configuration with "
                "other seeds (<code>--seed 1</code>, or <code>CompareModels --seeds 3</code>) "
                "to see its spread.</p>")
    columns = [("dataset", "dataset", ""), ("model", "model", ""),
               ("parameters", "parameters", "Parameters that differ between runs of the "
                                              "dataset"),
               ("seeds", "seeds", "The seeds of the group (click: that run)"),
               ("n", "runs", ""),
               ("mean_accuracy", "mean test accuracy", "Mean over the seeds"),
               ("std_accuracy", "std", "Sample standard deviation over the seeds"),
               ("range_accuracy", "range", "Lowest and highest over the seeds (sorted by "
                                           "their difference)"),
               ("spread_accuracy", "spread", "Each seed's test accuracy (|), the mean (dot) "
                                             "± one standard deviation (bar), on one scale "
                                             "per dataset (sorted by the deviation)")]
    axes = scales(groups)
    others = ("loss", "macro_f1", "roc_auc")
    columns += [(f"mean_{name}", f"{METRIC[name].label} (± std)", f"Mean and sample standard "
                 f"deviation over the seeds: {METRIC[name].help}") for name in others]
    rows = []
    for group in sorted(groups, key=lambda g: (g.dataset, g.model,
                                               -_or(_mean(g, "accuracy"), -1.0))):
        seeds = ", ".join(f'<a href="#run-{esc(run.key)}">{esc(run.seed)}</a>'
                          for run in group.runs)
        cells = [cell(group.dataset), cell(group.model),
                 f'<td class="params">{esc(parameters_text(group.parameters, varying))}</td>',
                 f"<td>{seeds}</td>", cell(len(group.runs))]
        spread = group.spread("accuracy")
        if spread:
            mean, std, low, high = spread
            cells += [cell(mean), cell(std),
                      f'<td class="n" data-sort="{sort_value(high - low)}">'
                      f"{esc(number(low, 4))} – {esc(number(high, 4))}</td>",
                      f'<td data-sort="{sort_value(std)}">'
                      f'{strip(group, axes[group.dataset])}</td>']
        else:
            cells += ["<td></td>"] * 4
        for name in others:
            spread = group.spread(name)
            cells.append("<td></td>" if spread is None else
                         f'<td class="n" data-sort="{sort_value(spread[0])}">'
                         f"{esc(number(spread[0], 4))} ± {esc(number(spread[1], 4))}</td>")
        rows.append(f'<tr id="{esc(group.key)}" '
                    f'{filtered(group.dataset, [group.model], "item")}>{"".join(cells)}</tr>')
    return (f'<div class="scroll"><table class="sortable" id="groups">{head(columns)}'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


def scales(groups: Sequence[Group]) -> dict[str, tuple[float, float]]:
    """Per dataset, the test accuracies every spread strip of it spans."""
    found: dict[str, tuple[float, float]] = {}
    for group in groups:
        spread = group.spread("accuracy")
        if spread:
            low, high = found.get(group.dataset, (spread[2], spread[3]))
            found[group.dataset] = (min(low, spread[2]), max(high, spread[3]))
    return found


def strip(group: Group, axis: tuple[float, float], width: int = 120, height: int = 16) -> str:
    """A small inline SVG of one group's spread over seeds on its dataset's scale: each
    seed a tick, the mean a dot, one standard deviation either side a bar. It needs no
    image file, no script, and costs nothing to draw."""
    spread = group.spread("accuracy")
    if spread is None:
        return ""
    mean, std, low, high = spread
    start, end = axis
    margin = max((end - start) * 0.05, 1e-4)
    start, end = start - margin, end + margin

    def x(value: float) -> float:
        return round(4 + (width - 8) * (value - start) / (end - start), 1)

    middle = height / 2
    seeds = [v for v in (run.metrics.get("accuracy") for run in group.runs)
             if v is not None and math.isfinite(v)]
    ticks = "".join(f'<line x1="{x(v)}" x2="{x(v)}" y1="2" y2="{height - 2}"/>' for v in seeds)
    title = (f"mean {number(mean, 4)}, std {number(std, 4)}, seeds "
             + ", ".join(number(v, 4) for v in seeds)
             + f"; scale {number(start, 3)} to {number(end, 3)}")
    return (f'<svg class="strip" width="{width}" height="{height}" role="img" '
            f'aria-label="{esc(title)}"><title>{esc(title)}</title>'
            f'<line class="axis" x1="0" x2="{width}" y1="{middle}" y2="{middle}"/>'
            f'<rect x="{x(mean - std)}" y="{middle - 3}" height="6" '
            f'width="{max(x(mean + std) - x(mean - std), 1)}"/>'
            f'<g class="seeds">{ticks}</g>'
            f'<circle cx="{x(mean)}" cy="{middle}" r="3.5"/></svg>')


def _mean(group: Group, metric: str) -> float | None:
    spread = group.spread(metric)
    return spread[0] if spread else None


def grid_table(grid: Grid, rows: Sequence[Mapping[str, Any]], columns: Sequence[str],
               table_id: str) -> str:
    body = "".join("<tr>" + "".join(cell(row.get(name)) for name in columns) + "</tr>"
                   for row in rows)
    return (f'<div class="scroll"><table class="sortable" id="{esc(table_id)}">'
            f'{head((c, c, "") for c in columns)}<tbody>{body}</tbody></table></div>')


def grid_summary(grid: Grid, notes: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The grid's mean and spread over seeds, from its own rows (the functions its task
    uses); empty when it has one seed per variant or its rows are damaged."""
    try:
        if grid.family == "CompareModels":
            from ..ml.compare import SUMMARY, summarize_seeds

            if len({row.get("seed") for row in grid.rows}) < 2:
                return [], []
            return summarize_seeds(grid.rows), list(SUMMARY)
        if grid.family == "Tune":
            from ..ml.search import SUMMARY_COLUMNS
            from ..ml.search import summarize as summarize_search

            return summarize_search(grid.rows), list(SUMMARY_COLUMNS)
        from ..ml.curves import SUMMARY as CURVE
        from ..ml.curves import summarize

        return summarize(grid.rows), list(CURVE)
    except (KeyError, TypeError, ValueError) as exc:
        notes.append(f"{grid.family}/{grid.task_id}: its table cannot be summarised "
                     f"({type(exc).__name__}: {exc}); rows shown as they are")
        return [], []


def grid_section(grid: Grid, images: Images, notes: list[str]) -> str:
    shown = ", ".join(f"{k}={v}" for k, v in sorted(grid.parameters.items()))
    summary, columns = grid_summary(grid, notes)
    parts = [f'<section id="{esc(grid.key)}" {filtered(grid.dataset, grid.models, "item grid")}>',
             f"<h3>{esc(grid.family)} · {esc(grid.dataset)} · "
             f"<code>{esc(grid.task_id)}</code></h3>",
             f'<p class="params">{esc(shown)}</p>',
             f'<p class="meta">{esc(len(grid.rows))} rows · written {esc(when(grid.when))} · '
             f"<code>{esc(grid.family)}/{esc(grid.task_id)}/</code></p>"]
    if summary:
        parts += ["<h4>Mean and spread over seeds</h4>",
                  grid_table(grid, summary, columns, f"{grid.key}-summary")]
    parts += ["<h4>Every run</h4>" if summary else "",
              grid_table(grid, grid.rows, grid.columns, f"{grid.key}-rows")]
    figures = []
    for name in grid.figures:
        placed = images.placed.get(f"{grid.key}-{Path(name).stem}")
        if placed:
            figures.append(f'<img src="{esc(images.prefix + placed)}" loading="lazy" '
                           f'alt="{esc(grid.family)} {esc(Path(name).stem)}" class="grid">')
    parts += [f'<div class="figs">{"".join(figures)}</div>', "</section>"]
    return "".join(parts)


def run_section(run: Run, images: Images, varying: Sequence[str]) -> str:
    facts = "".join(f'<span title="{esc(m.help)}"><b>{esc(m.label)}</b> '
                    f"{esc(number(run.metrics.get(m.name), m.digits) or '–')}</span>"
                    for m in METRICS if run.metrics.get(m.name) is not None
                    or m.name in ("accuracy", "loss"))
    parameters = " ".join(f"<code>{esc(k)}={esc(v)}</code>"
                          for k, v in sorted(run.parameters.items()))
    folders = [f"<code>EvaluateTest/{esc(run.task_id)}/</code>"]
    if run.train_folder is not None:
        folders.append(f"<code>TrainModel/{esc(run.train_folder.name)}/</code>")
    if run.tensorboard:
        folders.append("TensorBoard logs: " + ", ".join(
            f"<code>{esc(p.parent.parent.name)}/{esc(p.parent.name)}/{esc(p.name)}/</code>"
            for p in run.tensorboard))
    notes = "".join(f'<p class="note">{esc(note)}</p>' for note in run.notes)
    figures = []
    for kind, label in (("history", "Loss and accuracy per epoch"),
                        ("confusion", "Confusion matrix")):
        placed = images.placed.get(f"{run.key}-{kind}")
        if placed:
            figures.append(f'<img src="{esc(images.prefix + placed)}" loading="lazy" '
                           f'class="{kind}" '
                           f'alt="{esc(label)}, {esc(run.task_id)}">')
    per_class = ""
    if run.per_class:
        body = "".join(
            f"<tr><td>{esc(name)}</td>" + "".join(cell(values.get(k), 0 if k == "support"
                                                       else 4)
                                                  for k in ("precision", "recall", "f1",
                                                            "support")) + "</tr>"
            for name, values in run.per_class.items())
        per_class = (f"<details><summary>Per class ({len(run.per_class)} classes)</summary>"
                     f'<div class="scroll"><table class="sortable">'
                     f"{head((k, k, '') for k in ('class', 'precision', 'recall', 'f1', 'support'))}"  # noqa: E501
                     f"<tbody>{body}</tbody></table></div></details>")
    title = parameters_text(run.parameters, varying)
    return (f'<article id="run-{esc(run.key)}" {filtered(run.dataset, [run.model], "item run")}>'
            f"<h3>{esc(run.dataset)} · {esc(run.model)} · seed {esc(run.seed)}"
            f"{f' · {esc(title)}' if title else ''} <small><code>{esc(run.short)}</code>"
            f"</small></h3>"
            f'<p class="facts">{facts}<span><b>when</b> {esc(when(run.when))}</span></p>'
            f'<p class="params">{parameters}</p><p class="meta">{" · ".join(folders)}</p>'
            f'{notes}<div class="figs">{"".join(figures)}</div>{per_class}</article>')


# ------------------------------------------------------------------------------ page

def render(collection: Collection, images: Images, generated: float | None = None) -> str:
    """The whole page (images must have been placed in ``images``)."""
    generated = time.time() if generated is None else generated
    runs, grids = collection.runs, collection.grids
    varying = collection.varying()
    groups = collection.groups()
    compare = [g for g in grids if g.family == "CompareModels"]
    curves = [g for g in grids if g.family == "LearningCurve"]
    searches = [g for g in grids if g.family == "Tune"]
    notes = list(collection.notes)
    grid_html = {g.key: grid_section(g, images, notes) for g in grids}
    summary = (f"{len(runs)} finished run{'s' * (len(runs) != 1)} of "
               f"{len(collection.datasets)} dataset{'s' * (len(collection.datasets) != 1)} "
               f"and {len(collection.models)} model{'s' * (len(collection.models) != 1)} · "
               f"{len(groups)} group{'s' * (len(groups) != 1)} over seeds · "
               f"{len(compare)} model comparison{'s' * (len(compare) != 1)} · "
               f"{len(curves)} learning curve{'s' * (len(curves) != 1)} · "
               f"{len(searches)} search{'es' * (len(searches) != 1)}")
    parts = [f"<header><h1>Results in <code>{esc(collection.root)}</code></h1>",
             f'<p class="meta">{esc(summary)} · made {esc(when(generated))}</p>',
             '<nav><a href="#runs-section">Runs</a> <a href="#seeds">Over seeds</a> '
             '<a href="#comparisons">Model comparisons</a> '
             '<a href="#curves">Learning curves</a> <a href="#searches">Searches</a> '
             '<a href="#each">Each run</a>'
             f'{" <a href=#notes>Notes</a>" if notes else ""}</nav>',
             filters(collection), "</header>"]
    if not runs and not grids:
        what = ("does not exist" if not collection.exists else "holds no finished run yet")
        parts.append(f'<p class="empty">The data folder <code>{esc(collection.root)}</code> '
                     f"{what}: a run is an EvaluateTest folder with its metrics.json. Train "
                     f"one with <code>luigi --module pipeline RunAll --local-scheduler</code> "
                     f"and make the report again.</p>")
    if notes:
        parts.append('<section id="notes"><h2>Notes</h2><p>What could not be read as '
                     'expected; everything else is reported.</p><ul>'
                     + "".join(f"<li>{esc(note)}</li>" for note in notes) + "</ul></section>")
    if runs:
        parts += ['<section id="runs-section"><h2>Runs</h2>',
                  "<p>One row per finished run (an EvaluateTest folder): the final model, "
                  "trained on all training documents for the chosen number of epochs, "
                  "scored on the test documents. <i>parameters</i> lists those that differ "
                  "between runs of a dataset; each run's section below has all of them. "
                  '<span class="js-only">Click a heading to sort.</span></p>',
                  runs_table(collection, varying), "</section>",
                  '<section id="seeds"><h2>Runs that differ only by seed</h2>',
                  "<p>One seed moves test accuracy by about ±0.005 on IMDB, far more on "
                  "small training sets: compare configurations by their means against "
                  "this spread.</p>",
                  groups_section(groups, varying), "</section>"]
    parts += ['<section id="comparisons"><h2>Model comparisons (CompareModels)</h2>',
              "".join(grid_html[g.key] for g in compare) or
              "<p>None yet: <code>luigi --module pipeline CompareModels "
              "--local-scheduler</code>.</p>", "</section>",
              '<section id="curves"><h2>Learning curves (LearningCurve)</h2>',
              "".join(grid_html[g.key] for g in curves) or
              "<p>None yet: <code>luigi --module pipeline LearningCurve "
              "--local-scheduler</code>.</p>", "</section>",
              '<section id="searches"><h2>Hyperparameter searches (Tune)</h2>',
              "".join(grid_html[g.key] for g in searches) or
              "<p>None yet: <code>luigi --module pipeline Tune "
              "--local-scheduler</code>.</p>", "</section>"]
    if runs:
        ordered = sorted(runs, key=lambda r: (r.dataset, r.model, r.task_id))
        parts += ['<section id="each"><h2>Each run</h2>',
                  "".join(run_section(run, images, varying) for run in ordered), "</section>"]
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Results: {esc(collection.root.name or collection.root)}</title>"
            f"<style>{STYLE}</style></head>\n<body><main>\n{body}\n</main>"
            f"<script>{SCRIPT}</script></body></html>\n")


def filters(collection: Collection) -> str:
    def options(values: Iterable[str]) -> str:
        return '<option value="">all</option>' + "".join(
            f'<option value="{esc(v)}">{esc(v)}</option>' for v in values)

    return ('<form id="filters" hidden>'
            f'<label>Dataset <select id="f-dataset">{options(collection.datasets)}</select>'
            f'</label> <label>Model <select id="f-model">{options(collection.models)}</select>'
            '</label> <label>Text <input id="f-text" type="search" size="24" '
            'placeholder="units=16, relu, ..."></label> <output id="f-count"></output></form>')


def write_page(collection: Collection, folder: Path, images: Images | None = None,
               progress: Callable[[str], None] | None = None) -> Path:
    """``folder/report.html`` and its images (in ``images``, by default a new
    ``folder/images/``); returns the page's path."""
    from .figures import all_figures

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images = Images(folder / "images", collection.notes) if images is None else images
    images.prefix = os.path.relpath(images.folder, folder).replace(os.sep, "/") + "/"
    all_figures(collection, images, progress)
    page = folder / "report.html"
    page.write_text(render(collection, images), encoding="utf-8")
    return page


STYLE = """
:root{color-scheme:light}
body{margin:0;color:#1d232a;background:#fff;
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif}
main{max-width:1240px;margin:0 auto;padding:0 16px 64px}
header{border-bottom:1px solid #d8dde3;margin-bottom:8px;padding:12px 0 8px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 6px;padding-top:6px;
border-top:1px solid #d8dde3}h3{font-size:15px;margin:18px 0 4px}
h4{font-size:14px;margin:10px 0 4px}
nav a{margin-right:14px}a{color:#0b57b0}
code{font:12px/1.3 ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;
overflow-wrap:anywhere}
.meta{color:#59636e;font-size:12.5px;margin:2px 0}
.params{color:#38414b;font-size:12.5px;overflow-wrap:anywhere}
.params code{background:#f3f5f7;padding:0 3px;border-radius:3px;margin-right:2px}
.scroll{overflow-x:auto;max-width:100%;margin:6px 0}
table{border-collapse:collapse;font-size:12.5px;font-variant-numeric:tabular-nums}
th,td{padding:3px 7px;border-bottom:1px solid #e6e9ed;text-align:left;vertical-align:top}
thead th{background:#f3f5f7;position:sticky;top:0;white-space:nowrap}
td.n,td.id{text-align:right;white-space:nowrap}td.id{text-align:left}
td.id code{overflow-wrap:normal}td.params{min-width:150px;max-width:320px}
tbody tr:hover{background:#f7fafd}
th button{font:inherit;font-weight:600;border:0;background:none;padding:0;color:inherit;
cursor:pointer}
th[aria-sort=ascending] button::after{content:" \\25B2"}
th[aria-sort=descending] button::after{content:" \\25BC"}
.figs{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start;margin:6px 0}
.figs img,figure img{max-width:100%;height:auto;border:1px solid #e6e9ed}
figure{margin:0}figcaption{font-size:12px;color:#59636e}
img.history{width:760px}img.confusion{width:440px}img.grid{width:600px}
#groups th{white-space:normal;vertical-align:bottom}
svg.strip{display:block}svg.strip .axis{stroke:#c9d0d8;stroke-width:1}
svg.strip rect{fill:#9cc3ee}svg.strip .seeds line{stroke:#1d232a;stroke-width:1.2}
svg.strip circle{fill:#0b57b0}
article.run{border-top:1px solid #eef0f3;padding-top:4px}
.facts span{margin-right:14px;white-space:nowrap}
.note,#notes li{color:#8a4600}
.empty{font-size:15px;background:#fff8e6;padding:10px 14px;border-radius:4px}
#filters{margin:8px 0 0;font-size:13px}#filters label{margin-right:12px}
#filters output{color:#59636e}
.js-only{display:none}html.js .js-only{display:inline}
[hidden]{display:none!important}
"""

SCRIPT = r"""
(function () {
  "use strict";
  document.documentElement.className += " js";
  var form = document.getElementById("filters");
  if (!form) { return; }
  form.hidden = false;
  form.addEventListener("submit", function (event) { event.preventDefault(); });
  var dataset = document.getElementById("f-dataset");
  var model = document.getElementById("f-model");
  var text = document.getElementById("f-text");
  var count = document.getElementById("f-count");
  var items = Array.prototype.slice.call(document.querySelectorAll(".item"));
  var runRows = items.filter(function (el) { return el.classList.contains("run-row"); });
  var sorted = {};

  function apply() {
    var d = dataset.value, m = model.value, t = text.value.trim().toLowerCase();
    var shown = 0;
    items.forEach(function (el) {
      var models = " " + el.getAttribute("data-models") + " ";
      var ok = (!d || el.getAttribute("data-dataset") === d) &&
               (!m || models.indexOf(" " + m + " ") >= 0) &&
               (!t || el.textContent.toLowerCase().indexOf(t) >= 0);
      el.hidden = !ok;
      if (ok && el.classList.contains("run-row")) { shown += 1; }
    });
    count.textContent = shown + " of " + runRows.length + " runs shown";
  }

  function key(row, index) {
    var c = row.cells[index];
    if (!c) { return [2, ""]; }
    var v = c.getAttribute("data-sort");
    if (v === null) { v = c.textContent.trim(); }
    if (v === "") { return [2, ""]; }
    var n = Number(v);
    return isNaN(n) ? [1, v.toLowerCase()] : [0, n];
  }

  function sortTable(table, name, direction) {
    var heads = table.tHead.rows[0].cells, index = -1;
    for (var i = 0; i < heads.length; i += 1) {
      heads[i].removeAttribute("aria-sort");
      if (heads[i].getAttribute("data-key") === name) { index = i; }
    }
    if (index < 0) { return; }
    heads[index].setAttribute("aria-sort", direction);
    var sign = direction === "descending" ? -1 : 1;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (row, position) {
      return [key(row, index), position, row];
    });
    rows.sort(function (a, b) {
      if (a[0][0] !== b[0][0]) { return a[0][0] - b[0][0]; }
      if (a[0][1] < b[0][1]) { return -sign; }
      if (a[0][1] > b[0][1]) { return sign; }
      return a[1] - b[1];
    });
    rows.forEach(function (entry) { body.appendChild(entry[2]); });
    if (table.id) { sorted = {table: table.id, key: name, direction: direction}; }
  }

  function save() {
    var parts = [];
    if (dataset.value) { parts.push("dataset=" + encodeURIComponent(dataset.value)); }
    if (model.value) { parts.push("model=" + encodeURIComponent(model.value)); }
    if (text.value) { parts.push("q=" + encodeURIComponent(text.value)); }
    if (sorted.table) {
      parts.push("sort=" + encodeURIComponent(sorted.table + ":" + sorted.key + ":" +
                                              sorted.direction));
    }
    try { history.replaceState(null, "", parts.length ? "#" + parts.join("&") : "#"); }
    catch (ignored) { /* some browsers refuse it for file:// pages */ }
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", function () {
        var next = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        sortTable(table, th.getAttribute("data-key"), next);
        save();
      });
    });
  });

  function load() {
    var hash = location.hash.replace(/^#/, "");
    if (hash.indexOf("=") < 0) { return; }
    hash.split("&").forEach(function (part) {
      var pair = part.split("="), value = decodeURIComponent(pair[1] || "");
      if (pair[0] === "dataset") { dataset.value = value; }
      if (pair[0] === "model") { model.value = value; }
      if (pair[0] === "q") { text.value = value; }
      if (pair[0] === "sort") {
        var bits = value.split(":"), table = document.getElementById(bits[0]);
        if (table && table.tHead) { sortTable(table, bits[1], bits[2] || "ascending"); }
      }
    });
  }

  [dataset, model].forEach(function (el) {
    el.addEventListener("change", function () { apply(); save(); });
  });
  text.addEventListener("input", function () { apply(); save(); });
  load();
  apply();
}());
"""

#: Only the page's own script may run, and nothing may be fetched or posted: text that
#: escaped escaping still could not run or call out (defence in depth).
POLICY = ("script-src 'sha256-{}'; object-src 'none'; base-uri 'none'; connect-src 'none'; "
          "form-action 'none'").format(base64.b64encode(hashlib.sha256(SCRIPT.encode("utf-8"))
                                                        .digest()).decode("ascii"))
