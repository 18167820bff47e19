"""Files that show what customers received (the e-mail as PDF, a visual…)."""

from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from accounts.models import User
from campaigns.models import Attachment, Campaign
from campaigns.rules import Action
from campaigns.services.common import EventKind, campaign_missing, lock_campaign, record, require
from core.errors import DomainError, NotFound

# One limit for the rule and for the upload handler that stops reading past it.
ATTACHMENT_MAX_BYTES: int = settings.FILE_UPLOAD_MAX_BYTES
# What each accepted extension must contain, and the name shown when it does not.
ATTACHMENT_TYPES: dict[str, tuple[str, str]] = {
    ".pdf": ("application/pdf", "PDF"),
    ".png": ("image/png", "PNG"),
    ".jpg": ("image/jpeg", "JPEG"),
    ".jpeg": ("image/jpeg", "JPEG"),
    ".webp": ("image/webp", "WebP"),
}


def _sniff_content_type(head: bytes) -> str | None:
    """The type the file's first bytes (magic numbers) show, whatever its name says."""
    if head.startswith(b"%PDF"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def _attachment_name(raw: str | None) -> str:
    # Browsers send a base name; some older ones and scripts send a whole path.
    name = PurePosixPath((raw or "").replace("\\", "/")).name.strip()
    return (name or "file")[:255]


def _attachment_content_type(name: str, uploaded_file: UploadedFile[bytes]) -> str:
    """The checked content type, or a DomainError on `file` that names the file."""

    def refuse(message: str) -> DomainError:
        return DomainError.for_fields({"file": [message]})

    extension = PurePosixPath(name.lower()).suffix
    if extension not in ATTACHMENT_TYPES:
        raise refuse(
            _("“%(name)s” was refused: only PDF, PNG, JPEG and WebP files are accepted.")
            % {"name": name}
        )
    size = uploaded_file.size or 0
    if size == 0:
        raise refuse(_("“%(name)s” was refused: the file is empty.") % {"name": name})
    if size > ATTACHMENT_MAX_BYTES:
        raise refuse(
            _("“%(name)s” was refused: it is %(size)s, the limit is %(max)s.")
            % {
                "name": name,
                "size": filesizeformat(size),
                "max": filesizeformat(ATTACHMENT_MAX_BYTES),
            }
        )
    uploaded_file.seek(0)
    head = uploaded_file.read(16)
    uploaded_file.seek(0)
    expected, kind = ATTACHMENT_TYPES[extension]
    if _sniff_content_type(head) != expected:
        raise refuse(
            _("“%(name)s” was refused: its content is not a %(kind)s file.")
            % {"name": name, "kind": kind}
        )
    return expected


def attachment_cut_off_error(*, file_name: str) -> DomainError:
    """The error for a file the upload handler stopped reading past ATTACHMENT_MAX_BYTES
    (core.uploads): its real size is unknown, only that it is over the limit."""
    name = _attachment_name(file_name)
    return DomainError.for_fields(
        {
            "file": [
                _("“%(name)s” was refused: it is larger than %(max)s, the limit.")
                % {"name": name, "max": filesizeformat(ATTACHMENT_MAX_BYTES)}
            ]
        }
    )


def _storage_name(name: str) -> str:
    path = PurePosixPath(name)
    try:
        stem = get_valid_filename(path.stem)[:80]
    except SuspiciousFileOperation:
        stem = "file"
    return f"{stem}{path.suffix.lower()}"


def attachment_add(
    *, actor: User, campaign_id: int, uploaded_file: UploadedFile[bytes]
) -> Attachment:
    """Attach a file to a draft or announced campaign: PDF, PNG, JPEG or WebP, at most
    10 MB, its type checked by extension *and* by its first bytes.

    The file goes to Django's storage (an S3-compatible bucket in production) before the
    transaction, because a 10 MB upload must not hold the campaign's row lock. The row and
    its timeline event are then written in one transaction; if that fails, the stored file
    is deleted again, so neither a row without a file nor an unlisted file is left. Not
    idempotent: the same file sent twice makes two attachments.
    """
    campaign = Campaign.objects.select_related("owner").filter(pk=campaign_id).first()
    if campaign is None:
        raise campaign_missing()
    require(Action.ATTACH, actor, campaign)
    name = _attachment_name(uploaded_file.name)
    content_type = _attachment_content_type(name, uploaded_file)
    attachment = Attachment(
        campaign=campaign,
        original_name=name,
        content_type=content_type,
        size=uploaded_file.size or 0,  # an empty or unsized file was refused above
        uploaded_by=actor,
    )
    attachment.file.save(_storage_name(name), uploaded_file, save=False)
    try:
        with transaction.atomic():
            # Checked again under the lock: the campaign may have closed during the upload.
            campaign = lock_campaign(campaign_id)
            require(Action.ATTACH, actor, campaign)
            attachment.campaign = campaign
            attachment.save()
            record(campaign, actor, EventKind.EDITED, {"attachment_added": name})
    except Exception:
        if attachment.file.name:  # set by save() above
            attachment.file.storage.delete(attachment.file.name)
        raise
    return attachment


def attachment_remove(*, actor: User, attachment_id: int) -> Attachment:
    """Remove an attachment from a draft or announced campaign.

    The row and its timeline event go in one transaction; the stored file is deleted only
    after commit, so a rolled-back removal never leaves a row whose file is gone (if the
    storage then fails, an unlisted file remains, which is logged). Removing twice is
    refused the second time as "does not exist".
    """
    missing = NotFound(_("This attachment does not exist."))
    campaign_id = (
        Attachment.objects.filter(pk=attachment_id).values_list("campaign_id", flat=True).first()
    )
    if campaign_id is None:
        raise missing
    with transaction.atomic():
        campaign = lock_campaign(campaign_id)  # campaign first, as everywhere
        attachment = campaign.attachments.filter(pk=attachment_id).first()
        if attachment is None:
            raise missing
        require(Action.ATTACH, actor, campaign)
        storage, stored_name = attachment.file.storage, attachment.file.name
        attachment.delete()
        record(campaign, actor, EventKind.EDITED, {"attachment_removed": attachment.original_name})
        if stored_name:
            transaction.on_commit(lambda: storage.delete(stored_name), robust=True)
    return attachment
