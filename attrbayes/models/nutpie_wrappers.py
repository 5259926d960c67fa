"""Leaner C wrappers for nutpie's numba backend: the same functions, compiled faster and
compiled once per model rather than once per process.

nutpie wraps the compiled log density (and the function that expands a draw into the
stored variables) in a numba ``cfunc`` that copies the result with ``out[...] = grad``.
That broadcasting assignment makes numba compile its shape-error message formatting (the
``str``/``repr``/unicode overloads, 39 functions) in every new process. And a ``cfunc``
that calls the model is not cached by numba, so every process compiles it again, with the
model's whole machine code linked in: 1.6-2 s of LLVM a fit (benchmarks/RESULTS.md,
issue 17). These wrappers copy element by element and return the same status codes, so
the sampler sees identical values and the same errors; and where PyTensor can name the
compiled graph (its numba cache key, which covers every operation and constant, the data
included), the wrapper is compiled with numba's disk cache under that name, so that a
later process loads it instead of compiling. nutpie still compiles a small ``cfunc`` of
its own, which only forwards to the cached one.

:func:`install` swaps them into ``nutpie.compile_pymc`` once; where nutpie's private
helpers are not as expected (another nutpie version), it leaves nutpie as it is.
"""

from __future__ import annotations

from hashlib import sha256

import numpy as np

# nutpie's own wrappers, kept once install() has replaced them (tests compare against them)
ORIGINALS: dict[str, object] = {}

_LOGP = """
def logp_numba(dim, x_, out_, logp_, user_data_):
    if dim != {n_dim}:
        return -1
    x = numba.carray(x_, ({n_dim},))
    out = numba.carray(out_, ({n_dim},))
    logp = numba.carray(logp_, ())
    try:
        logp_val, grad = extract(x, user_data_)
    except Exception:  # a status code is all a cfunc can return
        return 1
    logp[()] = logp_val
    finite = True
    for i in range({n_dim}):
        out[i] = grad[i]
        finite = finite and np.isfinite(grad[i])
    if not finite:
        return 3
    if not np.isfinite(logp_val):
        return 4
    return 0
"""

_EXPAND = """
def expand_numba(dim, expanded, x_, out_, user_data_):
    if dim != {n_dim} or expanded != {n_expanded}:
        return -1
    x = numba.carray(x_, ({n_dim},))
    out = numba.carray(out_, ({n_expanded},))
    try:
        (values,) = extract(x, user_data_)
    except Exception:
        return -2
    for i in range({n_expanded}):
        out[i] = values[i]
    return 0
"""


def _signature(n_pointers: int):
    import numba

    sizes = (numba.types.uint64,) * (4 - n_pointers)
    pointers = (numba.types.CPointer(numba.types.double),) * n_pointers
    return numba.types.int64(*sizes, *pointers, numba.types.voidptr)


def _wrapper(source: str, name: str, inner, user_data, shared_keys, shared_data, signature):
    """The wrapper ``name`` of ``source`` around the compiled graph ``inner``, for nutpie to
    compile as a ``cfunc``: the function itself, or, where the graph has a cache key and
    no shared variables, a forward to a ``cfunc`` of it compiled with numba's disk cache."""
    import numba
    import nutpie
    from nutpie.compile_pymc import make_extraction_fn
    from pytensor.link.numba.cache import CACHED_SRC_FUNCTIONS, compile_numba_function_src

    env = {
        "__name__": __name__,  # numba rebuilds a cached function's globals from its module
        "numba": numba,
        "np": np,
        "extract": make_extraction_fn(inner, shared_data, shared_keys, user_data.dtype),
    }
    graph_key = CACHED_SRC_FUNCTIONS.get(getattr(inner, "py_func", None))
    if graph_key is None or shared_keys:
        return compile_numba_function_src(source, name, env)
    key = sha256(f"{graph_key}|{nutpie.__version__}|{source}".encode()).hexdigest()
    cached = numba.cfunc(signature, cache=True)(
        compile_numba_function_src(source, name, env, cache_key=key)
    )
    call = cached.ctypes

    def forward(a, b, c, d, e):
        return call(a, b, c, d, e)

    forward.cached = cached  # type: ignore[attr-defined]
    return forward


def make_logp_func(n_dim, logp_fn, user_data, shared_keys, shared_data):
    """nutpie's ``_make_c_logp_func``: the log density and its gradient; 3 when the
    gradient and 4 when the density is not finite, 1 when the model raised."""
    signature = _signature(3)
    source = _LOGP.format(n_dim=n_dim)
    return _wrapper(source, "logp_numba", logp_fn, user_data, shared_keys, shared_data,
                    signature), signature  # fmt: skip


def make_expand_func(n_dim, n_expanded, expand_fn, user_data, shared_keys, shared_data):
    """nutpie's ``_make_c_expand_func``: a draw's stored variables; -2 when the model
    raised."""
    signature = _signature(2)
    source = _EXPAND.format(n_dim=n_dim, n_expanded=n_expanded)
    return _wrapper(source, "expand_numba", expand_fn, user_data, shared_keys, shared_data,
                    signature), signature  # fmt: skip


def install() -> bool:
    """Use these wrappers in nutpie's numba backend (a no-op once done); False where
    nutpie's helpers differ from those these replace."""
    if not ORIGINALS:
        import nutpie.compile_pymc as compile_pymc

        expected = ("_make_c_logp_func", "_make_c_expand_func", "make_extraction_fn")
        if all(callable(getattr(compile_pymc, name, None)) for name in expected):
            ORIGINALS.update({name: getattr(compile_pymc, name) for name in expected[:2]})
            compile_pymc._make_c_logp_func = make_logp_func
            compile_pymc._make_c_expand_func = make_expand_func
    return bool(ORIGINALS)
