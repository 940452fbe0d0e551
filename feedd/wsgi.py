"""The production WSGI server (waitress: one process, threads, fits a background scheduler).

Stops gracefully: on stop, the listening socket closes at once, in-flight requests get up to `grace`
seconds to finish, then the process may exit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from waitress.server import create_server
from waitress.wasyncore import close_all, loop


def serve(app: Callable, host: str, port: int, threads: int, stop: threading.Event,
          on_listen: Callable[[str, int], None], grace: float = 4.0) -> None:
    server = create_server(app, host=host, port=port, threads=threads, ident="feedd",
                           channel_timeout=30, connection_limit=1000)
    on_listen(str(server.effective_host), int(server.effective_port))
    socket_map = server._map
    while not stop.is_set():
        loop(timeout=0.2, map=socket_map, count=1)
    server.del_channel()  # stop accepting; open connections keep being served
    server.socket.close()
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(
            channel.requests or channel.total_outbufs_len for channel in list(server.active_channels.values())):
        loop(timeout=0.05, map=socket_map, count=1)
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
    close_all(socket_map)
