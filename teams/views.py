"""Teams and people in the app: the directory (who holds which role, who is in which
team), a team's page and settings, adding and removing members, company roles, the CSV
import. Thin: forms read input, teams.services decides and writes, teams.rules says who
sees which button."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from core.errors import DomainError
from core.http import AuthenticatedHttpRequest, actor_of, run_action, safe_next, show_refusal
from teams import imports, rules, selectors, services
from teams.forms import AppTeamForm, MemberAddForm, PeopleImportForm, RoleForm
from teams.models import Team
from teams.roles import MANAGER, MARKETER

PEOPLE_PER_PAGE = 50


def _form_refused(form: forms.BaseForm, error: DomainError) -> None:
    """A service's refusal shown on the form: next to each field it names, else on top."""
    if not error.field_errors:
        form.add_error(None, error.message)
    for name, problems in error.field_errors.items():
        form.add_error(name if name in form.fields else None, problems)


# --- the directory ----------------------------------------------------------------------------


@require_http_methods(["GET"])
def directory(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Who is a manager or a marketer, every team with its leads, and everyone by name."""
    actor = actor_of(request)
    # PostgreSQL refuses a NUL in any text it is given (the fuzzer sends them).
    query = request.GET.get("q", "").replace("\x00", "").strip()[:100]
    show_inactive = request.GET.get("inactive") == "1" and rules.may_manage_people(actor)
    page = Paginator(
        selectors.people_search(query=query, active=not show_inactive), PEOPLE_PER_PAGE
    ).get_page(request.GET.get("page"))
    context = {
        "query": query,
        "show_inactive": show_inactive,
        "page": page,
        "people": selectors.people_rows(page.object_list),
        "role_holders": selectors.people_with_company_roles(),
        "teams": selectors.team_summaries(),
        "may_manage_people": rules.may_manage_people(actor),
    }
    return render(request, "teams/directory.html", context)


@require_http_methods(["GET"])
def person_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(User, pk=pk, erased_at__isnull=True)
    actor = actor_of(request)
    (row,) = selectors.people_rows([person])
    lead_of_theirs = any(
        team_id in actor.lead_team_ids
        for team_id in person.memberships.values_list("team_id", flat=True)
    )
    context = {
        "row": row,
        "person": person,
        "is_me": person.pk == request.user.pk,
        "may_manage_people": rules.may_manage_people(actor),
        "may_invite_again": person.awaits_first_sign_in
        and person.is_active
        and (rules.may_manage_people(actor) or lead_of_theirs),
        "MARKETER": MARKETER,
        "MANAGER": MANAGER,
    }
    return render(request, "teams/person.html", context)


@require_POST
def person_roles(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    wanted = [role for role in request.POST.getlist("roles") if role in (MARKETER, MANAGER)]
    return run_action(
        request,
        lambda: services.person_set_roles(
            actor=request.user, user_id=pk, roles=wanted, request=request
        ),
        success=_("Roles saved."),
        redirect_to=reverse("teams:person", args=[pk]),
    )


@require_POST
def person_active(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    active = request.POST.get("active") == "1"
    return run_action(
        request,
        lambda: services.person_set_active(
            actor=request.user, user_id=pk, active=active, request=request
        ),
        success=_("Reactivated: they can sign in and receive notices again.")
        if active
        else _("Deactivated: they can no longer sign in or receive notices; their history stays."),
        redirect_to=reverse("teams:person", args=[pk]),
    )


@require_POST
def person_invite_again(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return run_action(
        request,
        lambda: services.person_invite_again(actor=request.user, user_id=pk, request=request),
        success=_("A new invitation is on its way."),
        redirect_to=safe_next(request, reverse("teams:person", args=[pk])),
    )


# --- teams ------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def team_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    rules.require_manage_people(actor_of(request))
    form = AppTeamForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            team = services.team_create(actor=request.user, data=form.cleaned_data, request=request)
        except DomainError as error:
            _form_refused(form, error)
        else:
            messages.success(request, _("Team “%(name)s” created.") % {"name": team.name})
            return HttpResponseRedirect(reverse("teams:detail", args=[team.slug]))
    return render(request, "teams/form.html", {"form": form, "team": None})


@require_http_methods(["GET", "POST"])
def team_edit(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    team = get_object_or_404(Team, slug=slug)
    rules.require_manage_team(actor_of(request), team.pk)
    form = AppTeamForm(request.POST or None, instance=team)
    if request.method == "POST" and form.is_valid():
        try:
            services.team_update(
                actor=request.user, team_id=team.pk, data=form.cleaned_data, request=request
            )
        except DomainError as error:
            _form_refused(form, error)
        else:
            messages.success(request, _("Team settings saved."))
            return HttpResponseRedirect(reverse("teams:detail", args=[team.slug]))
    return render(request, "teams/form.html", {"form": form, "team": team})


@require_http_methods(["GET"])
def team_detail(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    team = get_object_or_404(Team, slug=slug)
    return _team_page(request, team, MemberAddForm())


def _team_page(
    request: AuthenticatedHttpRequest, team: Team, add_form: MemberAddForm, status: int = 200
) -> HttpResponse:
    actor = actor_of(request)
    context = {
        "team": team,
        "members": selectors.team_members(team=team),
        "may_manage": rules.may_manage_team(actor, team.pk),
        "may_manage_people": rules.may_manage_people(actor),
        "add_form": add_form,
        "roles": RoleForm.base_fields["role"].choices,  # type: ignore[attr-defined]
    }
    return render(request, "teams/detail.html", context, status=status)


@require_POST
def team_member_add(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    team = get_object_or_404(Team, slug=slug)
    rules.require_manage_team(actor_of(request), team.pk)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            added = services.team_member_add(
                actor=request.user,
                team_id=team.pk,
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
                role=form.cleaned_data["role"],
                request=request,
            )
        except DomainError as error:
            _form_refused(form, error)
        else:
            name = added.membership.user.display_name
            if added.already_member:
                messages.info(request, _("%(name)s is already in the team.") % {"name": name})
            elif added.invited:
                messages.success(
                    request,
                    _("%(name)s was added and invited: the invitation e-mail is on its way.")
                    % {"name": name},
                )
            else:
                messages.success(request, _("%(name)s was added to the team.") % {"name": name})
            return HttpResponseRedirect(reverse("teams:detail", args=[team.slug]) + "#members")
    # What was typed stays in the form, with the reason next to it.
    return _team_page(request, team, form, status=400)


@require_POST
def team_member_role(request: AuthenticatedHttpRequest, slug: str, user_id: int) -> HttpResponse:
    team = get_object_or_404(Team, slug=slug)
    form = RoleForm(request.POST)
    if not form.is_valid():
        show_refusal(request, DomainError(_("Choose member or lead.")))
        return HttpResponseRedirect(reverse("teams:detail", args=[team.slug]) + "#members")
    return run_action(
        request,
        lambda: services.team_member_set_role(
            actor=request.user,
            team_id=team.pk,
            user_id=user_id,
            role=form.cleaned_data["role"],
            request=request,
        ),
        success=_("Role saved."),
        redirect_to=reverse("teams:detail", args=[team.slug]) + "#members",
    )


@require_POST
def team_member_remove(request: AuthenticatedHttpRequest, slug: str, user_id: int) -> HttpResponse:
    team = get_object_or_404(Team, slug=slug)
    return run_action(
        request,
        lambda: services.team_member_remove(
            actor=request.user, team_id=team.pk, user_id=user_id, request=request
        ),
        success=_("Removed from the team. Their acknowledgements stay in the history."),
        redirect_to=reverse("teams:detail", args=[team.slug]) + "#members",
    )


# --- the CSV import ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def people_import(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Upload, then a preview of every row (what would happen, or what is wrong), then
    "Import" with the same file, which travels back in the form: nothing is saved before."""
    rules.require_manage_people(actor_of(request))
    form = PeopleImportForm(request.POST or None, request.FILES or None)
    context: dict[str, object] = {"form": form, "check": None, "content": ""}
    if request.method != "POST":
        return render(request, "teams/import.html", context)
    if not form.is_valid():
        return render(request, "teams/import.html", context, status=400)
    upload = form.cleaned_data.get("file")
    try:
        text = imports.decode_upload(upload.read()) if upload else form.cleaned_data["content"]
    except DomainError as error:
        form.add_error("file", error.message)
        return render(request, "teams/import.html", context, status=400)
    if not text.strip():
        form.add_error("file", _("Choose a CSV file."))
        return render(request, "teams/import.html", context, status=400)
    if request.POST.get("confirm") == "1" and not upload:
        try:
            result = imports.people_import_apply(
                actor=request.user,
                text=text,
                send_invitations=form.cleaned_data["send_invitations"],
                request=request,
            )
        except DomainError as error:
            show_refusal(request, error)
        else:
            counts = result.check.counts
            messages.success(
                request,
                ngettext(
                    "Imported: %(new)d new people, %(added)d added to teams, %(roles)d roles "
                    "changed, %(same)d row unchanged.",
                    "Imported: %(new)d new people, %(added)d added to teams, %(roles)d roles "
                    "changed, %(same)d rows unchanged.",
                    counts[imports.Outcome.UNCHANGED],
                )
                % {
                    "new": counts[imports.Outcome.NEW_PERSON],
                    "added": counts[imports.Outcome.ADDED],
                    "roles": counts[imports.Outcome.ROLE_CHANGED],
                    "same": counts[imports.Outcome.UNCHANGED],
                },
            )
            return HttpResponseRedirect(reverse("teams:directory"))
    check = imports.people_import_check(text)
    context.update(check=check, content=text)
    return render(request, "teams/import.html", context, status=400 if check.errors else 200)
