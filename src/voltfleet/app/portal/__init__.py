"""What every portal page shares: rendering with the layout's context and navigation
(render.py), the signed-in session and its CSRF token (session.py), the home page (home_pages.py)
and the router that includes each feature's pages in the order their paths need (routes.py).

A feature's page handlers live in its own folder (``app/<feature>/pages.py``). The templates stay
together in ``app/templates/portal/``: they are one layout system (most extend ``base.html``; the
site navigation and the device rows appear on pages of four features), and a template's name is
all a handler knows of it.
"""
