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


def write_workbook(store: CycleStore) -> Path | None:
    """Write ``plan_<cycle>.xlsx`` with one sheet per plan table the cycle has."""
    present = [name for name in WORKBOOK_SHEETS if store.has(name)]
    if not present:
        return None
    with atomic_path(store.workbook_path) as tmp, pd.ExcelWriter(tmp, engine="openpyxl") as xl:
        for name in present:
            _for_excel(store.read(name)).to_excel(xl, sheet_name=name, index=False)
    return store.workbook_path


def _kpi_cards(store: CycleStore) -> list[dict]:
    if not store.has("kpis"):
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
        stages.append(
            {
                "number": s.number,
                "title": s.title,
                "status": entry.get("status", "not run"),
                "duration": entry.get("duration_s"),
                "error": entry.get("error"),
                "html": html.name if html.is_file() else None,
                "notebook": s.notebook if (store.root / s.notebook).is_file() else None,
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


__all__ = ["export_html", "write_index", "write_workbook"]
