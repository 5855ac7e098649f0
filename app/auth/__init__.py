"""Who is asking: accounts and their roles (accounts.py, shared by the server and the CLI),
how a request proves who it is and what each route needs (access.py), the browser's
side of it (sessions, CSRF, cookies behind a proxy: web.py) and the log-in rate limit
(limits.py). Auth is on as soon as one account exists (docs/RESEARCH.md, "Accounts").

Here, at the app level, not in catalog/: the catalog knows images and what people
changed about them, never who may ask; web users are a matter of the ways in."""
