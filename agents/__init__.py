"""Search agents over the HIC design space, installed as the import package ``hicenv_agents``.

The folder is ``agents/`` in the repository; it installs under a unique import
name because a top-level ``agents`` collides with other distributions
(``openai-agents`` installs one). Modules:

* :mod:`hicenv_agents.search.studyfile`: study files (TOML) and their validation;
* :mod:`hicenv_agents.search.optuna_study`: Optuna studies, storages, workers;
* :mod:`hicenv_agents.search.rl`: stable-baselines3 agents and the random-search baseline;
* :mod:`hicenv_agents.search.compare`: agents side by side, hypervolume against evaluations;
* :mod:`hicenv_agents.sigint`: Ctrl-C remembered for the whole command (exit status 130).
"""
