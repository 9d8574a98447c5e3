r"""Split the Monte Carlo samples across devices: every GPU of a machine, or of several.

The loss needs, for every operator ``a``, the sums over circuit samples ``z``

.. math::

    s_1(a) = \sum_z \cos\phi(a, z), \qquad s_2(a) = \sum_z \cos^2\phi(a, z),

and sums over disjoint sets of samples add. :func:`sharded_moments` therefore gives each
device of a one-axis :class:`jax.sharding.Mesh` an equal slice of the samples, lets it compute
its partial sums with the full circuit, parameters and operators (replicated), and adds the
partial sums (one all-reduce of ``2 × n_ops`` numbers). The gradient in the
parameters flows through the all-reduce, so every device ends with the full gradient.

The samples are drawn before they are split, so a mesh changes where the work runs, not the
random numbers: the result equals the one-device result up to float rounding (the partial
sums are added in a different order).

If ``n_samples`` is not a multiple of the number of devices, the samples are padded with
all-zero sign vectors ``s = 0``. The phase is a polynomial in ``s`` without constant term, so
such a sample has phase 0 whatever the parameters; its contribution (that of one zero sample,
computed with :func:`iqpgen.estimator.moments_from_signs` itself, times the number of padded
samples) is subtracted after the all-reduce. Padding costs at most ``n_devices - 1`` samples.

Memory: the circuit structure, the parameters and, for dense pairwise circuits, the
coupling matrix ``J`` (``(n+1)²`` floats) are replicated on every device; only the sample
axis (the phases of each chunk, and the ``(n, n_samples)`` signs when ``n_samples`` is a
multiple of the device count) is split. See ``docs/scaling.md``.

Example:
    >>> import functools, jax, jax.numpy as jnp, numpy as np, iqpgen
    >>> from iqpgen import parallel
    >>> mesh = parallel.device_mesh()  # every device JAX sees (here: the CPU)
    >>> c = iqpgen.gates.local_circuit(4, 2)
    >>> X = np.random.default_rng(0).integers(0, 2, (20, 4))
    >>> loss = jax.jit(functools.partial(iqpgen.mmd.loss_from_packed, sigmas=(1.0,),
    ...                                  n_ops=8, n_samples=50, mesh=mesh))
    >>> float(loss(c, jnp.zeros(c.n_params), iqpgen.mmd.pack_data(X),
    ...            jax.random.key(0))) < 1.0
    True
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec

from . import _checks
from .circuit import IqpCircuit
from .estimator import check_variance_reduction, moments_from_signs

__all__ = ["sharded_moments", "device_mesh", "check_mesh", "initialize_distributed"]

# Environment variables read by initialize_distributed when an argument is None.
# JAX itself reads JAX_COORDINATOR_ADDRESS; the other two are iqpgen's (JAX has none).
ENV_COORDINATOR = "JAX_COORDINATOR_ADDRESS"
ENV_NUM_PROCESSES = "JAX_NUM_PROCESSES"
ENV_PROCESS_ID = "JAX_PROCESS_ID"


def check_mesh(mesh: Any) -> str:
    """The name of the single axis of ``mesh``; TypeError/ValueError otherwise.

    Example:
        >>> from iqpgen import parallel
        >>> parallel.check_mesh(parallel.device_mesh())
        'samples'
    """
    if not isinstance(mesh, Mesh):
        raise TypeError(
            f"mesh must be a jax.sharding.Mesh, got {type(mesh).__name__}; build one with "
            "iqpgen.parallel.device_mesh()."
        )
    if len(mesh.axis_names) != 1:
        raise ValueError(
            f"mesh must have exactly one axis (the sample axis), got axes {mesh.axis_names} "
            f"of shape {dict(mesh.shape)}; build one with iqpgen.parallel.device_mesh()."
        )
    return mesh.axis_names[0]


def sharded_moments(
    circuit: IqpCircuit,
    params: jax.Array,
    st: jax.Array,
    supps: list[jax.Array],
    *,
    mesh: Mesh,
    chunk_size: int | None = None,
    variance_reduction: str = "none",
) -> tuple[jax.Array, jax.Array]:
    """:func:`iqpgen.estimator.moments_from_signs` with the samples split across ``mesh``.

    Each device computes ``Σ_z cos φ`` and ``Σ_z cos² φ`` over its slice of the columns of
    ``st``; the slices' sums are added across devices (an all-reduce). Differentiable in
    ``params`` (the gradient is all-reduced the same way). Works inside and outside
    ``jax.jit`` (called eagerly, it compiles once per mesh, chunk size and shapes).

    Args:
        circuit: the circuit structure (replicated on every device).
        params: gate angles ``(n_params,)`` (replicated).
        st: signs ``(n_qubits, n_samples)`` from :func:`iqpgen.estimator.draw_signs`; split
            along axis 1. ``n_samples`` need not be a multiple of the device count: the last
            slice is padded with zero signs whose contribution is removed exactly.
        supps: padded supports, a list of ``(c_b, w_b)`` int arrays (replicated).
        mesh: a one-axis :class:`jax.sharding.Mesh`, e.g. :func:`device_mesh`.
        chunk_size: samples per chunk on each device (memory only).
        variance_reduction: as in :func:`~iqpgen.estimator.moments_from_signs` (each
            sample's term depends on that sample alone, so any of them splits).

    Returns:
        ``(s1, s2)``, each ``(n_ops,)``, replicated on every device of ``mesh``: equal to
        ``moments_from_signs(circuit, params, st, supps, variance_reduction=...)`` up to
        float rounding.

    Raises:
        TypeError: ``mesh`` is not a ``jax.sharding.Mesh``, ``circuit`` not an
            :class:`~iqpgen.IqpCircuit`, or ``chunk_size`` not an int.
        ValueError: ``mesh`` has more than one axis, ``st`` is not ``(n_qubits, N)``, or
            ``chunk_size < 1``.

    Example:
        >>> import jax, jax.numpy as jnp, iqpgen
        >>> from iqpgen import estimator, parallel
        >>> c = iqpgen.gates.local_circuit(4, 2)
        >>> st = estimator.draw_signs(jax.random.key(0), 10, 4, False, jnp.float32)
        >>> supps = [jnp.array([[0, 1], [2, 4]], jnp.int32)]  # Z0 Z1 and Z2 (4 = padding)
        >>> s1, s2 = parallel.sharded_moments(c, jnp.zeros(c.n_params), st, supps,
        ...                                   mesh=parallel.device_mesh())
        >>> s1.tolist()  # all angles 0: cos φ = 1 for each of the 10 samples
        [10.0, 10.0]
    """
    check_mesh(mesh)
    circuit = _checks.check_circuit(circuit)
    if chunk_size is not None:
        chunk_size = _checks.check_int("chunk_size", chunk_size, minimum=1)
    n = circuit.n_qubits
    if st.ndim != 2 or st.shape[0] != n:
        raise ValueError(
            f"st must have shape (n_qubits={n}, n_samples), got {tuple(st.shape)}; draw it "
            "with iqpgen.estimator.draw_signs."
        )
    variance_reduction = check_variance_reduction(circuit, variance_reduction)
    return _sharded_fn(mesh, chunk_size, variance_reduction)(circuit, params, st, supps)


@functools.lru_cache(maxsize=64)
def _sharded_fn(mesh: Mesh, chunk_size: int | None, variance_reduction: str):
    """The jitted sharded computation for one mesh and chunk size (inlined under an outer jit;
    compiled once when called eagerly, instead of running op by op)."""
    axis = mesh.axis_names[0]
    n_dev = mesh.size
    vr = {"variance_reduction": variance_reduction}

    def local(circuit, params, st, supps):
        s1, s2 = moments_from_signs(circuit, params, st, supps, chunk_size=chunk_size, **vr)
        return s1[None], s2[None]  # this device's row of the (n_devices, n_ops) partial sums

    # check_vma=False: the generic path's lax.scan starts from an unvarying zero carry that
    # becomes varying over the sample axis, which the vma type check rejects. Nothing inside
    # `local` communicates, so the check has nothing to protect; the cross-device sum is the
    # plain jnp.sum below (lowered to one all-reduce), and the gradient of the replicated
    # inputs is summed over devices by shard_map's transpose.
    replicated, split = PartitionSpec(), PartitionSpec(axis)
    partial_sums = jax.shard_map(
        local,
        mesh=mesh,
        in_specs=(replicated, replicated, PartitionSpec(None, axis), replicated),
        out_specs=(split, split),
        check_vma=False,
    )

    @jax.jit
    def run(circuit, params, st, supps):
        n, n_samples = st.shape
        n_pad = -n_samples % n_dev
        if n_pad:
            st = jnp.concatenate([st, jnp.zeros((n, n_pad), st.dtype)], axis=1)
        s1, s2 = partial_sums(circuit, params, st, supps)
        s1, s2 = jnp.sum(s1, axis=0), jnp.sum(s2, axis=0)
        if n_pad:
            # A zero sample's term (phase 0), removed once per padded column.
            zero = jnp.zeros((n, 1), st.dtype)
            z1, z2 = moments_from_signs(circuit, params, zero, supps, **vr)
            s1, s2 = s1 - n_pad * z1, s2 - n_pad * z2
        return s1, s2

    return run


def device_mesh(devices: Sequence[Any] | None = None, axis_name: str = "samples") -> Mesh:
    """A one-axis mesh over ``devices`` (default: every device of every process).

    Pass it as ``mesh=`` to :func:`iqpgen.mmd.loss_from_packed` or :func:`sharded_moments`.
    A mesh is hashable and compares by its devices and axis name, so it can be a static
    ``jax.jit`` argument: two calls of ``device_mesh()`` give equal meshes and share one
    compilation. After :func:`initialize_distributed` the default mesh spans the devices of
    all processes.

    Args:
        devices: the devices to use, in order (default ``jax.devices()``).
        axis_name: name of the mesh axis.

    Returns:
        A :class:`jax.sharding.Mesh` of shape ``(len(devices),)``.

    Raises:
        TypeError: ``devices`` holds something other than JAX devices, or ``axis_name`` is
            not a string.
        ValueError: ``devices`` is empty or repeats a device, or ``axis_name`` is empty.

    Example:
        >>> import jax
        >>> from iqpgen import parallel
        >>> mesh = parallel.device_mesh()
        >>> mesh.axis_names, mesh.size == len(jax.devices())
        (('samples',), True)
        >>> mesh == parallel.device_mesh() and hash(mesh) == hash(parallel.device_mesh())
        True
    """
    if not isinstance(axis_name, str):
        raise TypeError(f"axis_name must be a str, got {type(axis_name).__name__}.")
    if not axis_name:
        raise ValueError("axis_name is empty; give the mesh axis a name such as 'samples'.")
    if devices is None:
        devices = jax.devices()
    elif isinstance(devices, jax.Device):
        raise TypeError("devices must be a list of devices; for one device use [device].")
    devices = list(devices)
    if not devices:
        raise ValueError("devices is empty; pass at least one device, e.g. jax.devices()[:1].")
    for d in devices:
        if not isinstance(d, jax.Device):
            raise TypeError(
                f"devices must hold JAX devices (from jax.devices()), got {type(d).__name__} "
                f"({d!r})."
            )
    if len(set(devices)) != len(devices):
        raise ValueError(f"devices repeats a device: {devices}; list each device once.")
    arr = np.empty(len(devices), dtype=object)
    arr[:] = devices
    return Mesh(arr, (axis_name,))


def _env_int(name: str) -> int | None:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer, got {raw!r}.") from None


def initialize_distributed(
    *,
    coordinator_address: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    local_device_ids: Sequence[int] | None = None,
) -> None:
    """Join a multi-process (multi-host) JAX run; a thin wrapper of ``jax.distributed.initialize``.

    Call it once per process, first thing, before anything touches a device (creating an
    array, ``jax.devices()``, a jitted call). Afterwards ``jax.devices()`` and
    :func:`device_mesh` span the devices of every process, and a jitted loss with
    ``mesh=device_mesh()`` splits its samples across all of them. Every process must run
    the same program with the same inputs (data, keys, static arguments).

    Each argument left ``None`` is read from the environment:

    * ``coordinator_address`` from ``JAX_COORDINATOR_ADDRESS`` (``host:port`` of process 0);
    * ``num_processes`` from ``JAX_NUM_PROCESSES``;
    * ``process_id`` from ``JAX_PROCESS_ID`` (``0 … num_processes − 1``).

    What is still unset after that is detected by JAX under SLURM (``srun``) and Open MPI
    (``mpirun``); elsewhere it is an error. On GPUs under SLURM/Open MPI, JAX gives each
    process the one GPU of its local rank unless ``local_device_ids`` says otherwise, so
    launch one process per GPU (see ``docs/scaling.md``).

    Args:
        coordinator_address: ``"host:port"`` of process 0, reachable from every process.
        num_processes: number of processes in the run.
        process_id: this process's index.
        local_device_ids: local devices this process uses, e.g. ``range(8)`` for one
            process driving 8 GPUs (default: JAX's choice; ``JAX_LOCAL_DEVICE_IDS``).

    Raises:
        TypeError: an argument has the wrong type.
        ValueError: an argument or environment variable is invalid (e.g. ``process_id`` not
            in ``range(num_processes)``, an address without a port).
        RuntimeError: from JAX, if it is called twice or after JAX has started its backend.

    Example:
        On each of two machines (process 0 at 10.0.0.1), before any other JAX call:

        >>> from iqpgen import parallel
        >>> parallel.initialize_distributed(coordinator_address="10.0.0.1:1234",
        ...                                 num_processes=2, process_id=0)  # doctest: +SKIP
        >>> mesh = parallel.device_mesh()  # doctest: +SKIP
    """
    if coordinator_address is None:
        coordinator_address = os.environ.get(ENV_COORDINATOR) or None
    if num_processes is None:
        num_processes = _env_int(ENV_NUM_PROCESSES)
    if process_id is None:
        process_id = _env_int(ENV_PROCESS_ID)
    if coordinator_address is not None:
        if not isinstance(coordinator_address, str):
            raise TypeError(
                f"coordinator_address must be a 'host:port' str, got "
                f"{type(coordinator_address).__name__}."
            )
        host, _, port = coordinator_address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(
                f"coordinator_address must be 'host:port' (e.g. '10.0.0.1:1234'), got "
                f"{coordinator_address!r}."
            )
    if num_processes is not None:
        num_processes = _checks.check_int("num_processes", num_processes, minimum=1)
    if process_id is not None:
        process_id = _checks.check_int("process_id", process_id, minimum=0)
        if num_processes is not None and process_id >= num_processes:
            raise ValueError(
                f"process_id must be in range(num_processes={num_processes}), got {process_id}; "
                "number the processes 0, 1, …, num_processes - 1."
            )
    if local_device_ids is not None:
        if isinstance(local_device_ids, int | np.integer):
            local_device_ids = [local_device_ids]
        local_device_ids = [
            _checks.check_int(f"local_device_ids[{k}]", i, minimum=0)
            for k, i in enumerate(local_device_ids)
        ]
    jax.distributed.initialize(
        coordinator_address=coordinator_address,
        num_processes=num_processes,
        process_id=process_id,
        local_device_ids=local_device_ids,
    )
