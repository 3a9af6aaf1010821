"""The course layer: problems 4.2-5.6 on top of the core.

``grids`` declares the problems, their grid points, seeds and readable names; ``report`` writes
each problem's answer, with ``report.rules`` (each word's statistic and thresholds) and
``report.writeup`` (the course write-up's claims, judged); ``compare`` builds the 5.6 table and
figure; ``site`` writes ``results/index.html``; ``pipeline`` (``./run_all.sh``) executes the
notebooks over the grids, locally (``executor``) or on a Ray cluster (``cluster``, ``ray_node``).

It imports the core (``genlab.config``, ``models``, ``train``, ``evaluate``, ``runs``, ...);
the core never imports it (``tests/test_imports.py``).
"""
