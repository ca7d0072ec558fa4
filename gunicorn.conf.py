"""gunicorn settings of the project, read from the working directory (or ``-c gunicorn.conf.py``).

The access log (on with ``--access-logfile -`` or ``GUNICORN_ACCESS_LOG``) never carries a card
or account number: runs of 12+ digits are redacted (``core/accesslog.py``).
"""

import os

logger_class = "core.accesslog.RedactingGunicornLogger"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
# gunicorn's default, written out: the schema documents the 414 for a longer request line.
limit_request_line = 4094
