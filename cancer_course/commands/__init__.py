"""The subcommands of ``cancer-course``: one module per command (course tooling, not lesson code).

For learners: ``train``, ``evaluate``, ``predict``, ``synth``, ``audit``. For teachers and
maintainers: ``lessons`` (:mod:`.lessons`: run every lesson into ``build/``) and ``notebooks``
(:mod:`.notebooks`: conventions, badges, stripped outputs); ``exercises`` lives with the exercises
(:mod:`cancer_course.exercises.build`, :mod:`cancer_course.exercises.grading`).

Each module holds a command's argparse parser (``register_cli(subparsers)``, which sets ``func``)
and ``run(args)``, which turns the parsed arguments into calls of the learner's modules
(:mod:`~cancer_course.training`, :mod:`~cancer_course.evaluation`, :mod:`~cancer_course.inference`,
:mod:`~cancer_course.synth`, :mod:`~cancer_course.audit`), which hold no argparse themselves.
Numeric arguments are checked by :mod:`.arguments` before anything runs.

A parser is built without importing TensorFlow (a module that needs it is imported inside
``run``), so ``cancer-course --help`` and every ``COMMAND --help`` answer at once.
"""
