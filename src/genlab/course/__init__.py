"""The course layer: problems 4.2-5.6 on top of the core.

``grids`` declares the problems, their grid points, seeds and readable names; ``answers/``
holds each problem's authored answer; ``report`` renders them, with ``report.stats`` (every
statistic and its thresholds, declared once), ``report.claims`` (the checks of the answers'
claims) and ``report.writeup`` (the course write-up's claims, judged); ``compare`` builds the
5.6 table and figure; ``crops`` the 4.3 figure of one image across the grid; ``site`` writes
``results/index.html`` and one page per problem (how they show images: ``page_images``);
``pipeline`` (``./run_all.sh``) executes the notebooks over the grids, locally (``executor``)
or on a Ray cluster (``cluster``, ``ray_node``).

It imports the core (``genlab.config``, ``models``, ``train``, ``evaluate``, ``runs``, ...);
the core never imports it (``tests/test_imports.py``).
"""
