"""Saga hosts: the actors that run sagas.

* :mod:`.saga_supervisor` -- the saga supervisor: starts runs, routes requests to their hosts;
* :mod:`.saga_host` -- a saga host: many runs in one process, their journal, their timers;
  :mod:`.saga_run` -- one run's actor (a saga declared ``isolation="process"``);
* :mod:`.host_args`, :mod:`.host_desk`, :mod:`.host_io`, :mod:`.run_book`, :mod:`.saga_support` --
  the parts a host is made of (launch arguments, the admin desk, batched I/O, the waiters' book).

A layer above the supervisors and the registry (a host supervises its runs and names them) and
below the daemon that builds the tree. Import the actors from their modules.
"""
