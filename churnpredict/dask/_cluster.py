"""The dask.distributed client: the one passed in, the default one, or one started here."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .._exceptions import ChurnModelError
from ._frames import require_dask

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client


def get_client(client: Any) -> Client:
    """``client``, else the current default client; a clear error when there is none."""
    if client is not None:
        return client
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        raise ChurnModelError(
            "training and prediction on Dask need a dask.distributed Client: start one, e.g. "
            "Client('tcp://scheduler:8786') or Client(LocalCluster()), or use dask_client()"
        ) from None


@contextlib.contextmanager
def dask_client(scheduler: Any = None, **cluster_kwargs: Any) -> Iterator[Client]:
    """A dask.distributed Client for the duration of a ``with`` block.

    Parameters
    ----------
    scheduler : Client, str or None
        A Client to use as is; a scheduler address (``"tcp://host:8786"``) to connect to; or
        ``"local"`` to start a :class:`distributed.LocalCluster` on this machine. None uses the
        current default client, or starts a local cluster when there is none.
    **cluster_kwargs
        Passed to :class:`distributed.LocalCluster` (``n_workers``, ``memory_limit`` ...).
        A local cluster started here keeps its workers' logs quiet (``silence_logs`` at
        CRITICAL): a failed task is raised here, on the client, and its worker's copy of
        the traceback would only repeat it on stderr. Pass ``silence_logs=logging.WARNING``
        to see them.

    Yields
    ------
    distributed.Client
        Clients and clusters started here are closed on exit.
    """
    require_dask()
    from distributed import Client, LocalCluster, default_client

    if isinstance(scheduler, Client):
        yield scheduler
        return
    if scheduler is None:
        try:
            yield default_client()
            return
        except ValueError:
            scheduler = "local"
    if scheduler == "local":
        cluster_kwargs.setdefault("dashboard_address", None)
        cluster_kwargs.setdefault("silence_logs", logging.CRITICAL)
        with LocalCluster(**cluster_kwargs) as cluster, Client(cluster) as client:
            yield client
        return
    with Client(str(scheduler)) as client:
        yield client
