"""Uploads cut off as soon as a file passes the size limit, not after it was read whole.

Django's own handlers keep a whole file (in memory, then in a temporary file) before any
view can look at its size: a 50 MB upload against a 10 MB limit was received and written
to disk in full, only to be refused. This handler runs first and counts each file's bytes
as they arrive; past FILE_UPLOAD_MAX_BYTES it skips the rest of that file (nothing more
is kept or handed to the next handlers) and notes the file on the request, so the view
shows the usual "too big" error under the field. The other fields of the form, before and
after the file, are parsed as usual: nothing the person typed is lost.

The remaining bytes of that file still cross the connection (they are read and dropped to
reach the next field); a proxy in front should cap whole request bodies
(`client_max_body_size` in nginx) so they stop at the edge too.
"""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.http import HttpRequest

_CUT_OFF = "_passerelle_cut_off_uploads"


class SizeLimitUploadHandler(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS: refuses a file once it exceeds the limit."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.limit: int = settings.FILE_UPLOAD_MAX_BYTES

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            if self.request is not None and self.field_name and self.file_name:
                cut_off = getattr(self.request, _CUT_OFF, {})
                cut_off[self.field_name] = self.file_name
                setattr(self.request, _CUT_OFF, cut_off)
            raise SkipFile
        return raw_data

    def file_complete(self, file_size: int) -> None:
        # The next handlers build the file; this one only counts.
        return None


def cut_off_uploads(request: HttpRequest) -> dict[str, str]:
    """The files refused for their size while this request was read, field → file name.
    Reads request.FILES first, so the body is parsed whoever asks."""
    _ = request.FILES
    return dict(getattr(request, _CUT_OFF, {}))
