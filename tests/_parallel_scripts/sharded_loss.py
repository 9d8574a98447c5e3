"""Child process of tests/test_parallel.py: the MMD² loss and its gradient on a device mesh.

JAX reads ``XLA_FLAGS=--xla_force_host_platform_device_count=K`` when it starts its backend,
so the parent sets it in this process's environment. Usage::

    python sharded_loss.py OUT.npz [--reference] [--moments]
        [--distributed [--coordinator HOST:PORT --num-processes N --process-id I]]

Always computes, for each case of CASES, the loss and gradient jitted with
``mesh=device_mesh()`` (every device of every process). ``--reference`` adds the same with
``mesh=None`` (one device); ``--moments`` compares ``sharded_moments`` with
``moments_from_signs`` directly on more cases (spin_sym, fewer samples than devices, chunking,
variance reduction) and ``IqpModel`` fits with and without ``mesh=``;
``--distributed`` first joins a multi-process run through ``initialize_distributed``
(arguments left out are read from the JAX_* environment variables). Writes everything to
OUT.npz for the parent to check.
"""

import argparse
import functools

import numpy as np

# (generator weight, n_samples): pairwise and generic circuits; 66 is not a multiple of 4.
CASES = ((2, 64), (3, 66))


def _loss_cases(results: dict, mesh, tag: str) -> None:
    import jax

    import iqpgen
    from iqpgen import mmd

    X = np.random.default_rng(0).integers(0, 2, (50, 8)).astype(np.uint8)
    data = mmd.pack_data(X)
    key = jax.random.key(3)
    for weight, n_samples in CASES:
        circuit = iqpgen.gates.local_circuit(8, weight)
        params = jax.random.normal(jax.random.key(weight), (circuit.n_params,)) * 0.5
        loss = functools.partial(
            mmd.loss_from_packed, sigmas=(1.0,), n_ops=64, n_samples=n_samples, mesh=mesh
        )
        f = jax.jit(jax.value_and_grad(loss, argnums=1))
        value, grad = f(circuit, params, data, key)
        name = f"w{weight}_n{n_samples}"
        results[f"{tag}_loss_{name}"] = np.asarray(value)
        results[f"{tag}_grad_{name}"] = np.asarray(grad)
        # Devices the outputs live on, and the all-reduces of the compiled program.
        results[f"{tag}_devices_{name}"] = len(grad.sharding.device_set)
        hlo = f.lower(circuit, params, data, key).compile().as_text()
        results[f"{tag}_allreduce_{name}"] = hlo.count("all-reduce(")


def _model_cases(results: dict, mesh) -> None:
    """IqpModel fits (control+antithetic estimates, a sample count not a multiple of 4) with
    and without the mesh."""
    import iqpgen

    X = np.random.default_rng(1).integers(0, 2, (60, 8)).astype(np.uint8)
    X[:, 1] = X[:, 0]
    for tag, m in (("sharded", mesh), ("single", None)):
        model = iqpgen.IqpModel(
            estimator="monte_carlo", n_ops=64, n_samples=66, max_steps=8, sigma=[1.0, 2.0],
            mesh=m, random_state=0, verbose=False,
        )  # fmt: skip
        model.fit(X)
        results[f"model_{tag}_params"] = np.asarray(model.params_)
        results[f"model_{tag}_loss"] = model.history_.loss
        results[f"model_{tag}_vr"] = model.loss_options_["variance_reduction"]


def _moment_cases(results: dict, mesh) -> None:
    import jax
    import jax.numpy as jnp

    import iqpgen
    from iqpgen import estimator, parallel

    supps = [
        jnp.array([[0, 8], [3, 8], [7, 8]], jnp.int32),
        jnp.array([[0, 1, 8, 8], [2, 5, 6, 7], [1, 2, 4, 8]], jnp.int32),
    ]
    cases = [  # (name, weight, spin_sym, n_samples, chunk_size, variance_reduction)
        ("spin_sym", 2, True, 10, None, "none"),
        ("few_samples", 3, False, 3, None, "none"),
        ("chunked", 3, True, 13, 2, "none"),
        ("control_antithetic", 2, False, 11, None, "control+antithetic"),
        ("control", 3, True, 6, 2, "control"),
    ]
    for name, weight, spin_sym, n_samples, chunk, vr in cases:
        circuit = iqpgen.gates.local_circuit(8, weight, spin_sym=spin_sym)
        params = jax.random.normal(jax.random.key(7), (circuit.n_params,))
        st = estimator.draw_signs(jax.random.key(8), n_samples, 8, spin_sym, jnp.float32)
        ref = jax.jit(functools.partial(estimator.moments_from_signs, variance_reduction=vr))(
            circuit, params, st, supps
        )
        sharded = functools.partial(
            parallel.sharded_moments, mesh=mesh, chunk_size=chunk, variance_reduction=vr
        )
        got = jax.jit(sharded)(circuit, params, st, supps)
        results[f"moments_ref_{name}"] = np.stack([np.asarray(r) for r in ref])
        results[f"moments_got_{name}"] = np.stack([np.asarray(g) for g in got])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--reference", action="store_true")
    ap.add_argument("--moments", action="store_true")
    ap.add_argument("--distributed", action="store_true")
    ap.add_argument("--coordinator")
    ap.add_argument("--num-processes", type=int)
    ap.add_argument("--process-id", type=int)
    args = ap.parse_args()

    import jax

    from iqpgen import parallel

    if args.distributed:
        # Cross-process collectives on CPU go through gloo (already jaxlib 0.10's default;
        # set here, in the test, never by the package).
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        parallel.initialize_distributed(
            coordinator_address=args.coordinator,
            num_processes=args.num_processes,
            process_id=args.process_id,
        )

    mesh = parallel.device_mesh()
    results = {
        "n_devices": len(jax.devices()),
        "n_local_devices": len(jax.local_devices()),
        "n_processes": jax.process_count(),
        "mesh_size": mesh.size,
        "mesh_shape": np.asarray(mesh.devices.shape),
    }
    _loss_cases(results, mesh, "sharded")
    if args.reference:
        _loss_cases(results, None, "single")
    if args.moments:
        _moment_cases(results, mesh)
        _model_cases(results, mesh)
    np.savez(args.out, **results)


if __name__ == "__main__":
    main()
