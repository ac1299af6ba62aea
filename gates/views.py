import csv
import io
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.sessions import session_renew
from core.htmx import redirect_after_save
from core.people import display_name
from core.words import moment_words
from gates import conditions, evidence, policy, selectors, services, staleness
from gates.evaluation import evaluate_gate
from gates.forms import ConditionForm, DelegateForm, SignForm
from gates.models import GateCriterion, GateState
from gates.pdf import gate_pdf
from gates.records import MEANINGS, gate_record
from projects import policy as project_policy
from projects import selectors as project_selectors
from projects.policy import Action

PAGE = "gates/gate_detail.html"


def _context(request, gate, form=None, problem="", delegate_form=None):
    evaluation = evaluate_gate(gate)
    pack = evidence.evidence_pack(gate, evaluation)
    holders = policy.slot_holders(gate)
    barred = policy.own_work(gate)
    approvers = policy.required_approvers(gate)
    is_approver = request.user in approvers
    # Someone who is not an approver themselves signs for the approver who delegated to them.
    delegation = None if is_approver else policy.active_delegation(gate, request.user)
    signoffs = list(
        gate.signoffs.select_related("signer", "on_behalf_of", "evidence").order_by("signed_at")
    )
    intact, chain_message = services.gate_audit_verify(gate=gate)
    return {
        "gate": gate,
        "project": gate.project,
        "evaluation": evaluation,
        "approvers": approvers,
        "delegation": delegation,
        "may_delegate": is_approver and gate.state in (GateState.DRAFT, GateState.OPEN),
        "delegate_form": delegate_form or DelegateForm(gate=gate, user=request.user),
        "groups": selectors.approver_groups(gate, holders, signoffs),
        "own_work": barred.get(request.user.pk, ""),
        "unfillable": policy.unfillable_slots(holders, barred=barred),
        "signoffs": [(s, MEANINGS[s.decision]) for s in signoffs],
        "as_signed": selectors.evidence_as_signed(gate, signoffs, pack),
        "may_sign": policy.can_sign(request.user, gate),
        "may_manage": project_policy.can_manage_project(request.user, gate.project),
        "form": form
        or SignForm(
            initial={
                "evidence": evidence.pack_token(pack),
                "username": request.user.get_username(),
            },
            advice=evaluation.recommendation,
        ),
        "problem": problem,
        "audit": selectors.gate_audit_rows(gate=gate),
        "chain_intact": intact,
        "chain_message": chain_message,
        "may_attest": project_policy.can_edit_project(request.user, gate.project)
        and gate.state in (GateState.DRAFT, GateState.OPEN),
        "rollback_ids": set(gate.criteria.filter(rollback=True).values_list("pk", flat=True)),
        "risks": pack["risks"],
        "checklists": pack["checklists"],
        **_reapproval_context(request, gate),
        **_conditions_context(request, gate),
    }


def _reapproval_context(request, gate) -> dict:
    """A stale approval's re-approval rounds, and whether the person may open one now."""
    if not gate.approval_stale_at:
        return {"reapprovals": [], "may_reapprove": False}
    reapprovals = list(gate.reapprovals.order_by("pk"))
    under_way = any(round_.state in policy.DEFINITION_OPEN_STATES for round_ in reapprovals)
    return {
        "reapprovals": reapprovals,
        "may_reapprove": not under_way and policy.can_manage_gate(request.user, gate),
    }


def _shown_advice(token: str, gate) -> str | None:
    """The recommendation on the evidence the signer was shown, if the token is sound."""
    try:
        return evidence.pack_from_token(token, gate)["recommendation"]
    except evidence.EvidenceRefused:
        return None


@require_GET
@login_required
def gate_detail(request: HttpRequest, pk: int) -> HttpResponse:
    gate = policy.get_gate_for(request.user, pk)
    return render(request, PAGE, _context(request, gate))


@require_POST
@login_required
def gate_sign(request: HttpRequest, pk: int) -> HttpResponse:
    gate = policy.get_gate_for(request.user, pk)
    form = SignForm(request.POST, advice=_shown_advice(request.POST.get("evidence", ""), gate))
    problem = ""
    if form.is_valid():
        if form.cleaned_data["username"] != request.user.get_username():
            problem = "Sign as yourself: the username is not the one you are logged in with."
        else:
            try:
                services.gate_sign(
                    gate=gate,
                    signer=request.user,
                    decision=form.cleaned_data["decision"],
                    password=form.cleaned_data["password"],
                    evidence_token=form.cleaned_data["evidence"],
                    comment=form.cleaned_data["comment"],
                    conditions=form.cleaned_data["conditions"],
                    override_reason=form.cleaned_data.get("override_reason", ""),
                    request=request,
                )
            except services.GateRefused as refused:
                problem = str(refused)
            else:
                session_renew(request)  # re-authenticated: a new session key, as at login
                messages.success(
                    request, "Signed. Your signature is recorded with the gate as you saw it."
                )
                return redirect_after_save(request, reverse("gate-detail", args=[gate.pk]))
    gate.refresh_from_db()
    if problem:
        # Their words again, the password empty, and the evidence as it is now: what they
        # sign next is what the page shows them next.
        evaluation = evaluate_gate(gate)
        form = SignForm(
            initial={
                "decision": form.data.get("decision"),
                "conditions": form.data.get("conditions", ""),
                "override_reason": form.data.get("override_reason", ""),
                "comment": form.data.get("comment", ""),
                "username": request.user.get_username(),
                "evidence": evidence.pack_token(evidence.evidence_pack(gate, evaluation)),
            },
            advice=evaluation.recommendation,
        )
    context = _context(request, gate, form=form, problem=problem)
    template = f"{PAGE}#sign-form" if request.htmx else PAGE
    return render(request, template, context, status=422)


@require_POST
@login_required
def gate_open(request: HttpRequest, pk: int) -> HttpResponse:
    gate = policy.get_gate_for(request.user, pk, Action.MANAGE)
    try:
        services.gate_open(gate=gate, by=request.user)
        messages.success(request, "The gate is open for sign-off.")
    except services.GateRefused as refused:
        messages.error(request, str(refused))
    return redirect("gate-detail", pk=gate.pk)


@require_POST
@login_required
def gate_reapproval_open(request: HttpRequest, pk: int) -> HttpResponse:
    """A manager opens a re-approval round of a gate whose approval went stale."""
    gate = policy.get_gate_for(request.user, pk, Action.MANAGE)
    try:
        copy = staleness.gate_reapproval_open(gate=gate, by=request.user)
    except services.GateRefused as refused:
        messages.error(request, str(refused))
        return redirect("gate-detail", pk=gate.pk)
    messages.success(
        request,
        f"{copy.name} is open for sign-off, with the criteria and approvers of {gate.name}.",
    )
    return redirect("gate-detail", pk=copy.pk)


@require_GET
@login_required
def gate_audit_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The gate's record: JSON as the API gives it; CSV as one row per audit entry, signatures
    with the signer's printed name, time with time zone, and meaning."""
    gate = policy.get_gate_for(request.user, pk)
    record = gate_record(gate)
    if fmt == "json":
        return JsonResponse(record)
    by_entry = {signature["id"]: signature for signature in record["signatures"]}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "sequence",
            "at_utc",
            "actor",
            "action",
            "signed_by",
            "signed_at",
            "meaning",
            "before",
            "after",
            "entry_hash",
        ]
    )
    for entry in record["audit"]["entries"]:
        signature = by_entry.get(entry["after"].get("signoff")) if entry["after"] else None
        writer.writerow(
            [
                entry["sequence"],
                entry["at_utc"],
                entry["actor"],
                entry["action"],
                signature["signer"] if signature else "",
                signature["signed_at_display"] if signature else "",
                signature["meaning"] if signature else "",
                json.dumps(entry.get("before", {})),
                json.dumps(entry["after"]),
                entry["entry_hash"],
            ]
        )
    writer.writerow([])
    writer.writerow(
        [
            "verification",
            "intact" if record["audit"]["intact"] else "TAMPERED",
            record["audit"]["verification"],
        ]
    )
    if record["overridden_recommendation"]:
        writer.writerow(
            [
                "override",
                f"approved against {record['overridden_recommendation']}",
                record["override_reason"],
            ]
        )
    as_signed = record["evidence_as_signed"]
    if as_signed:
        writer.writerow([])
        writer.writerow(["evidence as signed by", as_signed["signer"], as_signed["signed_at"]])
        writer.writerow(
            ["criterion", "as signed", "evidence as signed", "now", "evidence now", "changed"]
        )
        writer.writerow(
            [
                "recommendation",
                as_signed["recommendation_as_signed"],
                "",
                as_signed["recommendation_now"],
                "",
                "yes"
                if as_signed["recommendation_as_signed"] != as_signed["recommendation_now"]
                else "no",
            ]
        )
        for row in as_signed["criteria"]:
            writer.writerow(
                [
                    row["text"],
                    row["as_signed"],
                    row["as_signed_evidence"],
                    row["now"],
                    row["now_evidence"],
                    "yes" if row["changed"] else "no",
                ]
            )
        for row in as_signed["risks"]:
            writer.writerow(
                [
                    f"risk {row['risk']}",
                    row["as_signed"],
                    "",
                    row["now"],
                    "",
                    "yes" if row["changed"] else "no",
                ]
            )
    response = HttpResponse(out.getvalue(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="gate-{gate.pk}-audit.csv"'
    return response


@require_GET
@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    gates = selectors.gates_awaiting_signature(user=request.user)
    return render(request, "gates/inbox.html", {"gates": gates})


@require_POST
@login_required
def gate_delegate(request: HttpRequest, pk: int) -> HttpResponse:
    gate = policy.get_gate_for(request.user, pk)
    form = DelegateForm(request.POST, gate=gate, user=request.user)
    if form.is_valid():
        try:
            services.gate_delegate(
                gate=gate,
                delegator=request.user,
                delegate=form.cleaned_data["delegate"],
                until=form.cleaned_data["until"],
                by=request.user,
            )
        except (services.GateRefused, ValidationError) as refused:
            form.add_error(None, "; ".join(getattr(refused, "messages", [str(refused)])))
        else:
            who = form.cleaned_data["delegate"]
            messages.success(
                request,
                f"{display_name(who)} may sign for you until "
                f"{moment_words(form.cleaned_data['until'])}.",
            )
            return redirect("gate-detail", pk=gate.pk)
    # The page again, the form open with what was chosen and what to correct.
    return render(request, PAGE, _context(request, gate, delegate_form=form), status=422)
    return redirect("gate-detail", pk=gate.pk)


@require_GET
@login_required
def gate_record_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    gate = policy.get_gate_for(request.user, pk)
    response = HttpResponse(gate_pdf(gate_record(gate)), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="gate-{gate.pk}.pdf"'
    return response


@require_POST
@login_required
def criterion_attest(request: HttpRequest, pk: int) -> HttpResponse:
    criterion = get_object_or_404(GateCriterion, pk=pk)
    gate = policy.get_gate_for(request.user, criterion.gate_id, Action.EDIT)
    try:
        services.gate_criterion_attest(criterion=criterion, by=request.user)
        messages.success(request, f"You attested: {criterion.text}.")
    except services.GateRefused as refused:
        messages.error(request, str(refused))
    return redirect("gate-detail", pk=gate.pk)


# The conditions of a CONDITIONAL GO: a section of the gate's page of its own.

CONDITIONS = "gates/_conditions.html"


def _condition_form(condition, *, members, today, data=None) -> ConditionForm:
    return ConditionForm(
        data,
        prefix=f"condition-{condition.pk}",
        initial={"owner": condition.owner_id, "due_date": condition.due_date},
        members=members,
        today=today,
    )


def _conditions_context(request, gate, *, failed=None, problem="") -> dict:
    """The conditions section: each condition with, for those allowed, the form to change its
    owner and due date and whether they may mark it met. `failed` is a form that did not
    validate, shown as the person left it."""
    today = timezone.localdate()
    rows = selectors.gate_conditions(gate=gate, today=today)
    may_manage = bool(rows) and policy.can_manage_conditions(request.user, gate)
    members = project_selectors.project_members(project=gate.project) if may_manage else []
    meetable = policy.conditions_to_meet(request.user, gate, rows) if rows else set()
    condition_rows = []
    for condition in rows:
        form = None
        if may_manage and not condition.met_at:
            form = _condition_form(condition, members=members, today=today)
            if failed and failed.prefix == form.prefix:
                form = failed
        may_meet = condition.pk in meetable and not condition.met_at
        condition_rows.append((condition, form, may_meet))
    return {
        "condition_rows": condition_rows,
        "conditions_total": len(rows),
        "conditions_met": sum(1 for condition in rows if condition.met_at),
        "conditions_problem": problem,
    }


def _conditions_answer(request, gate, *, status=200, **shown) -> HttpResponse:
    """The conditions section for htmx; for a plain request, the gate's page."""
    context = _conditions_context(request, gate, **shown)
    if request.htmx:
        return render(request, CONDITIONS, {"gate": gate, **context}, status=status)
    return render(request, PAGE, {**_context(request, gate), **context}, status=status)


def _saved(request, condition, message: str) -> HttpResponse:
    gate = condition.gate
    if request.htmx:
        return _conditions_answer(request, gate)
    messages.success(request, message)
    return redirect(f"{reverse('gate-detail', args=[gate.pk])}#condition-{condition.pk}")


@require_POST
@login_required
def condition_update(request: HttpRequest, pk: int) -> HttpResponse:
    """A manager gives a condition another owner or due date."""
    condition = policy.get_condition_for(request.user, pk, Action.MANAGE)
    form = _condition_form(
        condition,
        members=project_selectors.project_members(project=condition.gate.project),
        today=timezone.localdate(),
        data=request.POST,
    )
    if form.is_valid():
        try:
            conditions.gate_condition_update(
                condition=condition, by=request.user, **form.cleaned_data
            )
        except services.GateRefused as refused:
            form.add_error(None, str(refused))
        else:
            return _saved(request, condition, "The condition's owner and due date are saved.")
    return _conditions_answer(request, condition.gate, failed=form, status=422)


@require_POST
@login_required
def condition_mark_met(request: HttpRequest, pk: int) -> HttpResponse:
    """The condition's owner or a manager says it is met."""
    condition = policy.get_condition_to_meet(request.user, pk)
    try:
        conditions.gate_condition_mark_met(condition=condition, by=request.user)
    except services.GateRefused as refused:
        if request.htmx:
            return _conditions_answer(request, condition.gate, problem=str(refused), status=409)
        messages.error(request, str(refused))
        return redirect("gate-detail", pk=condition.gate_id)
    return _saved(request, condition, f"Met: {condition.text}")
