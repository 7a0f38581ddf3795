"""The ``web`` section: the operator's page (``anpr web``)."""

from __future__ import annotations

from dataclasses import dataclass

from edge.common.sections import check, is_count, is_number


def split_listen(listen: str) -> tuple[str, int]:
    """``192.168.1.20:8080`` or ``[::1]:8080`` -> (host, port); ValueError otherwise."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(listen)
    return host.strip("[]"), int(port)


@dataclass(frozen=True)
class WebConfig:
    # The address of the site-network interface the page is served on, and its port. The
    # default serves this box only: set the operator's network address here (never a public one).
    listen: str = "127.0.0.1:8080"
    # `anpr web password` prints this line; "" : the page refuses to start and says how to set it
    password_hash: str = ""
    user: str = "operator"
    session_minutes: float = 30.0  # a session unused this long is logged out
    secret_file: str = ""  # the key that signs sessions; "" : beside the database, DB_STEM-web.key (made once, 0600)
    secure_cookie: bool = False  # true when the page is served through HTTPS (a reverse proxy)
    live_interval_s: float = 0.5  # how often the daemon shares its latest analysed frame with the page
    page_size: int = 100  # events per page

    def __post_init__(self):
        try:
            split_listen(self.listen) if isinstance(self.listen, str) else split_listen("")
        except ValueError:
            check(False, "web.listen", self.listen, "HOST:PORT, e.g. 192.168.1.20:8080 or [::1]:8080")
        check(isinstance(self.password_hash, str), "web.password_hash", self.password_hash,
              "the line `anpr web password` prints")
        check(isinstance(self.user, str) and self.user.strip() != "", "web.user", self.user, "a user name")
        check(is_number(self.session_minutes, 1, 7 * 24 * 60), "web.session_minutes", self.session_minutes,
              "1 to 10080 minutes")
        check(isinstance(self.secret_file, str), "web.secret_file", self.secret_file, "a file path, or \"\"")
        check(isinstance(self.secure_cookie, bool), "web.secure_cookie", self.secure_cookie, "true or false")
        check(is_number(self.live_interval_s, 0.1, 60), "web.live_interval_s", self.live_interval_s, "0.1 to 60 seconds")
        check(is_count(self.page_size, 10) and self.page_size <= 1000, "web.page_size", self.page_size, "10 to 1000")
