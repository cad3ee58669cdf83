"""Error reports (the emails Django sends ADMINS on a 500) that say where, never what.

Django hides only what is marked sensitive, and settings whose names look secret. Here
customers' raw emails and device ids travel through locals and form fields almost
everywhere, and Pinterest tokens through the client's: a report lists every frame
and line, but no local variable, form field or query parameter value, and no
password inside a URL setting (DATABASE_URL, REDIS_URL, the cache and broker). In
DEBUG, the developer's own error page shows everything, as Django does.
"""

from __future__ import annotations

import re

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

# scheme://user:password@host — the password is replaced, the rest helps the operator.
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@/\s]+@", re.I)


class PrivateExceptionReporterFilter(SafeExceptionReporterFilter):
    """Every local variable and posted value is hidden, and passwords inside URL settings."""

    def cleanse_setting(self, key, value):
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            cleansed = _URL_PASSWORD.sub(rf"\g<head>{self.cleansed_substitute}@", cleansed)
        return cleansed

    def get_safe_request_meta(self, request):
        meta = super().get_safe_request_meta(request)
        if self.is_active(request):
            # The query string again, as the server passed it on (gunicorn adds RAW_URI).
            for key in ("QUERY_STRING", "RAW_URI", "REQUEST_URI"):
                if meta.get(key):
                    meta[key] = self.cleansed_substitute
        return meta

    def get_post_parameters(self, request):
        if request is None or not self.is_active(request):
            return super().get_post_parameters(request)
        return dict.fromkeys(request.POST, self.cleansed_substitute)

    def get_traceback_frame_variables(self, request, tb_frame):
        if not self.is_active(request):
            return super().get_traceback_frame_variables(request, tb_frame)
        return [(name, self.cleansed_substitute) for name in tb_frame.f_locals]


class PrivateExceptionReporter(ExceptionReporter):
    """Query parameters are hidden too (a customer search holds an email)."""

    def get_traceback_data(self):
        data = super().get_traceback_data()
        if self.request is not None and self.filter.is_active(self.request):
            hidden = self.filter.cleansed_substitute
            data["request_GET_items"] = [(name, hidden) for name in self.request.GET]
            if self.request.GET:
                data["request_insecure_uri"] = (
                    f"{self.request.scheme}://{self.request._get_raw_host()}"
                    f"{self.request.path}?{hidden}"
                )
        return data
