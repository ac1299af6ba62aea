"""The metrics' part of the exchange document: KPIs with their sources (without secrets or
credentials) and measurements.

Metric sources travel without their secrets: a source that had one is imported switched off,
to be given its secret again. Header values and URL query parameters that look like
credentials, and user names and passwords in source URLs, are left out of the export; a source
that lost any is marked `credentials_removed` and imported switched off too. A derived source
whose input KPI was deleted says so (`{"missing": "kpi"}`) and comes back switched off, that
input pointing at no KPI.
"""

import re
from collections import defaultdict
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from django.db import IntegrityError, transaction

from core.exchange import (
    BOOLEAN,
    DATETIME,
    DATETIME_OR_NULL,
    DURATION,
    FLAG,
    INTEGER,
    INTEGER_OR_NULL,
    LATER_DATETIME_OR_NULL,
    LATER_DURATION_OR_NULL,
    LIST,
    NUMBER,
    NUMBER_OR_NULL,
    REF,
    REF_OR_NULL,
    SETTINGS,
    TEXT,
    TEXT_OR_NULL,
    USER_OR_NULL,
    DocumentRefused,
    ExportContext,
    ImportContext,
    later,
)
from metrics.models import KPI, Measurement, MetricSource
from projects.exchange import check_phase_ref
from projects.models import Project

KPI_FIELDS = {
    "name": TEXT,
    "phase": REF_OR_NULL,
    "description": TEXT,
    "kind": TEXT,
    "category": TEXT,
    "unit": TEXT,
    "baseline_value": NUMBER_OR_NULL,
    "baseline_text": TEXT,
    "comparator": TEXT_OR_NULL,
    "target_value": NUMBER_OR_NULL,
    "target_value_high": NUMBER_OR_NULL,
    "warning_value": NUMBER_OR_NULL,
    "target_text": TEXT,
    "method": TEXT,
    "cadence": DURATION,
    "owner": USER_OR_NULL,
    "owner_title": TEXT,
    "critical": BOOLEAN,
    "sustain_values": INTEGER_OR_NULL,
    "confirm_readings": later(INTEGER, absent=KPI._meta.get_field("confirm_readings").default),
    "confirm_after": LATER_DURATION_OR_NULL,
    "status": TEXT,
    "status_changed_at": DATETIME_OR_NULL,
    "pending_status": later(TEXT_OR_NULL, absent=None),
    "pending_since": LATER_DATETIME_OR_NULL,
    "flaps": later(INTEGER, absent=0),
    "flaps_since": LATER_DATETIME_OR_NULL,
    "created_at": DATETIME,
    "sources": LIST,
    "measurements": LIST,
}
METRIC_SOURCE_FIELDS = {
    "ref": REF,
    "kind": TEXT,
    "config": SETTINGS,
    "secret_set": FLAG,
    "interval": DURATION,
    "is_active": BOOLEAN,
    "next_due_at": DATETIME_OR_NULL,
    "health": TEXT,
    "last_success_at": DATETIME_OR_NULL,
    "last_error": TEXT,
    "last_error_at": DATETIME_OR_NULL,
    "consecutive_failures": INTEGER,
    "created_at": DATETIME,
}
MEASUREMENT_FIELDS = {
    "at": DATETIME,
    "value": NUMBER,
    "source": REF_OR_NULL,
    "partial": BOOLEAN,
    "note": TEXT,
    "recorded_by": USER_OR_NULL,
    "recorded_at": DATETIME,
    "slot": DATETIME_OR_NULL,
}
# Header names whose values are credentials, left out of an exported source's configuration.
CREDENTIAL_HEADER = re.compile(r"auth|token|key|secret|passw|cookie|session", re.IGNORECASE)
# Names of URL query parameters whose values are credentials (API keys, tokens, passwords, the
# signatures of signed URLs), left out of an exported source's URL.
CREDENTIAL_PARAMETER = re.compile(
    r"auth|token|key|secret|passw|^pwd$|^pass$|cookie|session|signature|^sig$|credential",
    re.IGNORECASE,
)
# What a derived source's input whose KPI was deleted is imported as: an id no KPI has, as
# autoincrementing keys start at 1.
DANGLING_KPI_ID = 0


# Export


def export(project: Project, context: ExportContext) -> dict:
    """The KPIs with their sources and measurements; the KPIs' names go into
    `context.keys["kpi"]`."""
    phase_refs = context.keys["phase"]
    kpis = list(project.kpis.order_by("name"))
    kpi_names = {
        pk: (code, name)
        for pk, code, name in KPI.objects.filter(
            project__programme=project.programme_id
        ).values_list("pk", "project__code", "name")
    }
    context.keys["kpi"] = {
        pk: name for pk, (code, name) in kpi_names.items() if code == project.code
    }
    sources_by_kpi = defaultdict(list)
    for source in MetricSource.objects.filter(kpi__project=project).order_by("pk"):
        sources_by_kpi[source.kpi_id].append(source)
    source_refs = {
        source.pk: ref
        for sources in sources_by_kpi.values()
        for ref, source in enumerate(sources, start=1)
    }
    measurements_by_kpi = defaultdict(list)
    for row in Measurement.objects.filter(kpi__project=project).order_by("kpi", "at"):
        measurements_by_kpi[row.kpi_id].append(row)

    def source_out(source):
        config, credentials_removed = _exported_config(source, kpi_names, project.code)
        return {
            **context.dump(source, METRIC_SOURCE_FIELDS),
            "ref": source_refs[source.pk],
            "config": config,
            "secret_set": bool(source.secret),
            "credentials_removed": credentials_removed,
        }

    def kpi_out(kpi):
        return {
            **context.dump(kpi, KPI_FIELDS),
            "phase": phase_refs.get(kpi.phase_id),
            "sources": [source_out(source) for source in sources_by_kpi[kpi.pk]],
            "measurements": [
                {
                    **context.dump(row, MEASUREMENT_FIELDS),
                    "source": source_refs.get(row.source_id),
                }
                for row in measurements_by_kpi[kpi.pk]
            ],
        }

    return {"kpis": [kpi_out(kpi) for kpi in kpis]}


def _url_without_credentials(url: str) -> tuple[str, bool]:
    """`url` less the user name and password before its host and the query parameters that
    look like credentials, and whether any was there. The parameters kept keep their text."""
    parts = urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    kept, removed = [], bool(userinfo)
    for pair in parts.query.split("&") if parts.query else []:
        if CREDENTIAL_PARAMETER.search(unquote_plus(pair.partition("=")[0])):
            removed = True
        else:
            kept.append(pair)
    if not (at or removed):
        return url, False
    return urlunsplit(parts._replace(netloc=host, query="&".join(kept))), removed


def _exported_config(
    source: MetricSource, kpi_names: dict[int, tuple[str, str]], code: str
) -> tuple[dict, bool]:
    """The source's configuration without credentials, and whether it had any; a derived
    source's inputs by KPI name."""
    config = dict(source.config)
    removed = False
    if isinstance(config.get("url"), str):
        config["url"], removed = _url_without_credentials(config["url"])
    if isinstance(config.get("headers"), dict):
        headers = {
            name: value
            for name, value in config["headers"].items()
            if not CREDENTIAL_HEADER.search(str(name))
        }
        removed = removed or len(headers) < len(config["headers"])
        config["headers"] = headers
    if source.kind == "derived" and isinstance(config.get("inputs"), dict):
        inputs = {}
        for name, kpi_id in config["inputs"].items():
            project_code, kpi_name = kpi_names.get(kpi_id, (None, None))
            if kpi_name is None:
                inputs[name] = {"missing": "kpi"}
            elif project_code == code:
                inputs[name] = {"kpi": kpi_name}
            else:
                inputs[name] = {"project": project_code, "kpi": kpi_name}
        config["inputs"] = inputs
    return config, removed


# Import


def read(data: dict, context: ImportContext) -> dict:
    """This part of `data`, checked; the KPIs' names go into `context.keys["kpi"]`."""
    kpis = [
        _read_kpi(row, context, f"kpis[{i}]")
        for i, row in enumerate(context.read_list(data, "kpis", "the document"))
    ]
    context.keys["kpi"] = {kpi["name"] for kpi in kpis}
    return {"kpis": kpis}


def _read_kpi(obj, context: ImportContext, path: str) -> dict:
    kpi = context.read(obj, KPI_FIELDS, path)
    check_phase_ref(kpi["phase"], context, f"{path}.phase")
    kpi["sources"] = context.read_children(kpi, "sources", METRIC_SOURCE_FIELDS, path)
    for i, (source, raw) in enumerate(zip(kpi["sources"], obj["sources"], strict=True)):
        # Absent from files written before credentials were marked: none was marked then.
        removed = raw.get("credentials_removed", False)
        if not isinstance(removed, bool):
            raise DocumentRefused(
                f"{path}.sources[{i}].credentials_removed must be true or false, "
                f"not {removed!r:.80}."
            )
        source["credentials_removed"] = removed
    source_refs = {source["ref"] for source in kpi["sources"]}
    if len(source_refs) != len(kpi["sources"]):
        raise DocumentRefused(f"{path}.sources: two sources have the same 'ref'.")
    kpi["measurements"] = context.read_children(kpi, "measurements", MEASUREMENT_FIELDS, path)
    for i, row in enumerate(kpi["measurements"]):
        if row["source"] is not None and row["source"] not in source_refs:
            raise DocumentRefused(
                f"{path}.measurements[{i}].source: the KPI has no source with the ref "
                f"{row['source']}."
            )
    return kpi


def write(part: dict, project: Project, context: ImportContext) -> None:
    """The KPIs, then their sources and measurements (a derived source may read a KPI written
    after its own); the KPIs go into `context.rows["kpi"]` by name."""
    phases = context.rows["phase"]
    kpis = context.rows["kpi"] = {}
    for i, values in enumerate(part["kpis"]):
        fields = context.values(values, KPI_FIELDS)
        fields["phase"] = phases.get(values["phase"])
        kpi = context.save(KPI(project=project, **fields), f"kpis[{i}]")
        kpis[values["name"]] = kpi
        context.keep_times(kpi, {"created_at": fields["created_at"]})
    for i, values in enumerate(part["kpis"]):
        _write_sources_and_measurements(project, kpis, values, f"kpis[{i}]", context)


def _source_to_do(row: dict, dangling: list[str]) -> list[str]:
    """What an imported source needs before it can be polled: the secret and credentials the
    export left out, KPIs for the inputs whose KPI was deleted. A source needing any is
    imported switched off."""
    to_do = []
    left_out = "the credentials left out of its headers or URL"
    if row["secret_set"] and row["credentials_removed"]:
        to_do.append(f"give it its secret and {left_out} again")
    elif row["secret_set"]:
        to_do.append("give it its secret again")
    elif row["credentials_removed"]:
        to_do.append(f"give it {left_out} again")
    if dangling:
        to_do.append(f"point its input(s) {', '.join(dangling)} at a KPI (theirs was deleted)")
    return to_do


def _imported_config(project, kpis, config: dict, path: str) -> tuple[dict, list]:
    """The configuration with a derived source's inputs as KPI ids, and the names of the
    inputs whose KPI had been deleted where the file was exported."""
    config = dict(config)
    if not isinstance(config.get("inputs"), dict):
        return config, []
    inputs, dangling = {}, []
    for name, ref in config["inputs"].items():
        if ref == {"missing": "kpi"}:
            inputs[name] = DANGLING_KPI_ID
            dangling.append(name)
            continue
        if not isinstance(ref, dict) or not isinstance(ref.get("kpi"), str):
            raise DocumentRefused(
                f'{path}.config.inputs.{name} must name a KPI: {{"kpi": "name"}}, '
                f'or say that its KPI was deleted: {{"missing": "kpi"}}.'
            )
        if ref.get("project") in (None, project.code):
            kpi = kpis.get(ref["kpi"])
        else:
            kpi = KPI.objects.filter(
                project__programme=project.programme,
                project__code=ref["project"],
                name=ref["kpi"],
            ).first()
        if kpi is None:
            where = f"project {ref['project']}" if ref.get("project") else "the project"
            raise DocumentRefused(
                f"{path}.config.inputs.{name}: {where} has no KPI named {ref['kpi']!r}."
            )
        inputs[name] = kpi.pk
    config["inputs"] = inputs
    return config, dangling


def _write_sources_and_measurements(project, kpis, values, path, context) -> None:
    kpi = kpis[values["name"]]
    by_ref = {}
    for j, row in enumerate(values["sources"]):
        source_path = f"{path}.sources[{j}]"
        fields = context.values(row, METRIC_SOURCE_FIELDS)
        fields["config"], dangling = _imported_config(project, kpis, row["config"], source_path)
        to_do = _source_to_do(row, dangling)
        if to_do and fields["is_active"]:
            fields["is_active"] = False
            context.notes.append(
                f"The {row['kind']} source of the KPI '{kpi.name}' was imported switched "
                f"off: {'; '.join(to_do)}, then switch it on."
            )
        source = context.save(MetricSource(kpi=kpi, **fields), source_path)
        by_ref[row["ref"]] = source
        context.keep_times(source, {"created_at": fields["created_at"]})
    rows = []
    for row in values["measurements"]:
        fields = context.values(row, MEASUREMENT_FIELDS)
        fields["source"] = by_ref.get(row["source"])
        rows.append((Measurement(kpi=kpi, **fields), fields["recorded_at"]))
    try:
        with transaction.atomic():
            Measurement.objects.bulk_create([row for row, _ in rows], batch_size=1000)
    except IntegrityError:
        raise DocumentRefused(
            f"{path}.measurements: two values share a moment (or a source and slot); "
            "a KPI has one value a moment."
        ) from None
    for measurement, recorded_at in rows:
        context.keep_times(measurement, {"recorded_at": recorded_at})
