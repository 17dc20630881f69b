"""Background jobs: the adapters of ``voltfleet.ports.Jobs`` and the platform's job functions.

- ``platform``: the jobs the platform runs (offline sweep, command expiry, price fetch), each a
  thin function that opens a unit of work and calls the use case with the clock's ``now``;
- ``inprocess``: the embedded default, jobs run by threads of the serving process;
- ``procrastinate_jobs``: PostgreSQL, jobs on a procrastinate queue run by ``voltfleet worker``.

An adapter package like ``app`` and ``store``: chosen and wired by ``voltfleet.bootstrap``.
"""
