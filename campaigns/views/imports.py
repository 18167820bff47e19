"""The CSV import: upload a file, check what importing it would do, confirm.

The uploaded text is kept in the person's session (compressed) between the preview and
the confirmation, never sent back through the browser; each step plans it again against
the campaigns as they are then (campaigns.imports), and the confirmation imports only if
that plan is still the one the preview showed."""

import base64
import binascii
import secrets
import zlib
from dataclasses import dataclass

from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from campaigns import imports, rules, services
from campaigns.forms import CampaignImportForm
from campaigns.imports import ImportPlan
from core.errors import DomainError
from core.http import AuthenticatedHttpRequest, actor_of
from core.uploads import cut_off_uploads

_PENDING = "campaigns.import.pending"
_DONE = "campaigns.import.done"
FAILURES_SHOWN = 50


@dataclass(frozen=True)
class _Pending:
    token: str  # names this upload: a confirmation from an older preview is refused
    file_name: str
    source: str
    channel: str
    text: str


def _keep(request: AuthenticatedHttpRequest, form: CampaignImportForm) -> None:
    # Compressed: a session is read on every request while the import waits, and CSV
    # shrinks several times over.
    packed = base64.b64encode(zlib.compress(form.text.encode(), level=6)).decode("ascii")
    request.session[_PENDING] = {
        "token": secrets.token_urlsafe(16),
        "file_name": form.cleaned_data["file"].name[:200],
        "source": form.cleaned_data["source"],
        "channel": form.cleaned_data["channel"],
        "text": packed,
    }


def _pending(request: AuthenticatedHttpRequest) -> _Pending | None:
    kept = request.session.get(_PENDING)
    if not isinstance(kept, dict):
        return None
    try:
        text = zlib.decompress(base64.b64decode(kept["text"])).decode()
        return _Pending(
            token=kept["token"],
            file_name=kept["file_name"],
            source=kept["source"],
            channel=kept["channel"],
            text=text,
        )
    except (TypeError, KeyError, binascii.Error, zlib.error, UnicodeDecodeError):
        return None


def _plan(request: AuthenticatedHttpRequest, pending: _Pending) -> ImportPlan:
    return imports.import_plan(
        actor=actor_of(request),
        text=pending.text,
        tz=request.user.tzinfo,
        source=pending.source,
        default_channel=pending.channel,
    )


def _upload_page() -> HttpResponseRedirect:
    return HttpResponseRedirect(reverse("campaigns:import"))


def _forget(request: AuthenticatedHttpRequest, error: DomainError) -> HttpResponseRedirect:
    request.session.pop(_PENDING, None)
    messages.error(request, error.message)
    return _upload_page()


@require_http_methods(["GET", "POST"])
def campaign_import(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The upload form; after an import, what it did."""
    rules.require_writes_campaigns(actor_of(request))
    if request.method != "POST":
        return render(
            request,
            "campaigns/import.html",
            {"form": CampaignImportForm(), "done": request.session.pop(_DONE, None)},
        )
    cut_off = cut_off_uploads(request).get("file")
    form = CampaignImportForm(request.POST, request.FILES)
    if cut_off is not None:
        # Stopped while it arrived (core.uploads): the same error as a file refused here.
        form.is_valid()
        form.errors.pop("file", None)
        form.add_error("file", imports.too_large_message())
    elif form.is_valid():
        pending = _Pending(
            token="",
            file_name="",
            source=form.cleaned_data["source"],
            channel=form.cleaned_data["channel"],
            text=form.text,
        )
        try:
            _plan(request, pending)  # a file that cannot be imported at all is not kept
        except DomainError as error:
            form.add_domain_error(error)
        else:
            _keep(request, form)
            return HttpResponseRedirect(reverse("campaigns:import_preview"))
    return render(request, "campaigns/import.html", {"form": form, "done": None}, status=400)


@require_GET
def campaign_import_preview(request: AuthenticatedHttpRequest) -> HttpResponse:
    """What importing the uploaded file would do, row by row; nothing is written."""
    rules.require_writes_campaigns(actor_of(request))
    pending = _pending(request)
    if pending is None:
        messages.info(request, _("Choose a file to import first."))
        return _upload_page()
    try:
        plan = _plan(request, pending)
    except DomainError as error:  # read when uploaded: only a changed rule could do this
        return _forget(request, error)
    return render(request, "campaigns/import_preview.html", {"plan": plan, "pending": pending})


@require_POST
def campaign_import_confirm(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Import the rows the preview showed as created or updated."""
    rules.require_writes_campaigns(actor_of(request))
    pending = _pending(request)
    if pending is None or request.POST.get("token") != pending.token:
        messages.error(
            request, _("This preview is no longer current: choose the file to import again.")
        )
        return _upload_page()
    try:
        plan = _plan(request, pending)
    except DomainError as error:
        return _forget(request, error)
    if request.POST.get("digest") != plan.digest:
        messages.warning(
            request,
            _("Campaigns changed since the preview was shown: check it again, then import."),
        )
        return HttpResponseRedirect(reverse("campaigns:import_preview"))
    outcome = services.campaigns_import(actor=request.user, source=plan.source, items=plan.items)
    request.session.pop(_PENDING, None)
    request.session[_DONE] = {
        "file_name": pending.file_name,
        "created": len(outcome.created),
        "updated": len(outcome.updated),
        "unchanged": plan.unchanged + len(outcome.unchanged),
        "skipped": plan.with_errors,
        "failed": [
            {"row": f.row, "title": f.title, "message": f.message}
            for f in outcome.failed[:FAILURES_SHOWN]
        ],
        "failed_total": len(outcome.failed),
    }
    return _upload_page()
