"""The event loop casewatch's asyncio processes run on."""

import asyncio


def use_uvloop() -> None:
    """uvloop's event loop for every loop this process makes from here on (Faust's, its
    consumer thread's, the store's): the asyncio machinery under each message was about a
    tenth of a worker's samples, and with uvloop the worker used about 12% less CPU for the
    same events (docs/benchmarks.md). The benchmark's faust and aiokafka baselines run on it
    too, so the ratios compare like with like. Where it is not installed (Windows), asyncio's
    own loop."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
