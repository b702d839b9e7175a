"""What a cycle leaves for people: HTML reports, an Excel workbook and an index page.

- :func:`export_html`: an executed notebook as HTML without code cells (nbconvert's
  lab template, minus the CDN scripts), whose SVG charts render with no network.
- :func:`write_workbook`: the cycle's plan tables, one sheet each.
- :func:`write_index`: ``index.html``, linking the stages and showing the headline KPIs.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .store import STAGES, WORKBOOK_SHEETS, CycleStore, atomic_path

_TEMPLATES = Path(__file__).parent / "templates"


def export_html(notebook: str | Path, html: str | Path) -> Path:
    """Write an executed notebook as an HTML report without code (atomically)."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="sopkit_report",
        extra_template_basedirs=[str(_TEMPLATES)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    nb = nbformat.read(str(notebook), as_version=4)
    body, _ = exporter.from_notebook_node(nb)
    html = Path(html)
    with atomic_path(html) as tmp:
        tmp.write_text(body, encoding="utf-8")
    return html


def _for_excel(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m")
    return out


def current_artifacts(store: CycleStore) -> set[str]:
    """Artifacts written by stages whose last run completed (not failed, stale or pending)."""
    stages = store.read_manifest().get("stages", {})
    return {
        a
        for s in STAGES
        if stages.get(s.id, {}).get("status") == "complete"
        for a in s.writes
        if store.has(a)
    }


def write_workbook(store: CycleStore) -> Path | None:
    """Write ``plan_<cycle>.xlsx``: one sheet per plan table of the completed stages.

    Tables of failed, stale or pending stages are left out, so the workbook never
    mixes this cycle's plan with an earlier run's.
    """
    current = current_artifacts(store)
    present = [name for name in WORKBOOK_SHEETS if name in current]
    if not present:
        store.workbook_path.unlink(missing_ok=True)
        return None
    if not present:
        return None
    with atomic_path(store.workbook_path) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as xl:
        for name in present:
            _for_excel(store.read(name)).to_excel(xl, sheet_name=name, index=False)
    return store.workbook_path


def _kpi_cards(store: CycleStore) -> list[dict]:
    if "kpis" not in current_artifacts(store):
        return []
    from .kpi import format_kpis

    return format_kpis(store.read("kpis")).to_dict("records")


def write_index(store: CycleStore) -> Path:
    """Write ``index.html``: the cycle's status, headline KPIs and links to each stage."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
    )
    manifest = store.read_manifest()
    stages = []
    for s in STAGES:
        entry = manifest.get("stages", {}).get(s.id, {})
        html = store.root / f"{s.name}.html"
        current = entry.get("status") in ("complete", "failed")
        stages.append(
            {
                "number": s.number,
                "title": s.title,
                "status": entry.get("status", "not run"),
                "duration": entry.get("duration_s"),
                "error": entry.get("error"),
                # a stale or pending stage's report is an earlier run's: no link
                "html": html.name if html.is_file() and current else None,
                "notebook": s.notebook if (store.root / s.notebook).is_file() and current else None,
            }
        )
    page = env.get_template("index.html.j2").render(
        cycle=store.cycle,
        manifest=manifest,
        stages=stages,
        kpis=_kpi_cards(store),
        workbook=store.workbook_path.name if store.workbook_path.is_file() else None,
    )
    path = store.root / "index.html"
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path


__all__ = ["current_artifacts", "export_html", "write_index", "write_workbook"]
