using System.Collections.Frozen;

namespace Runbox.Execution.Engine;

/// <summary>
/// Variables CPython reads only as it starts (<c>PYTHONPATH</c>, <c>PYTHONHASHSEED</c>, <c>PYTHONWARNINGS</c>, ...). A
/// fast-path job is forked from an interpreter that started long before, so it could not honour them: a Python job that
/// sets one runs in a fresh interpreter instead, as <c>python script.py</c> would. Left out: those whose effect the fast
/// path has already (<c>PYTHONUNBUFFERED</c>, <c>PYTHONDONTWRITEBYTECODE</c>) and those read later, from
/// <c>os.environ</c> (<c>PYTHONBREAKPOINT</c>, <c>PYTHONASYNCIODEBUG</c>, <c>PYTHON_COLORS</c>).
/// </summary>
internal static class StartupVariables
{
    private static readonly FrozenSet<string> Names = new[]
    {
        "PYTHONHOME", "PYTHONPATH", "PYTHONSAFEPATH", "PYTHONPLATLIBDIR", "PYTHONOPTIMIZE", "PYTHONDEBUG",
        "PYTHONINSPECT", "PYTHONVERBOSE", "PYTHONCASEOK", "PYTHONPYCACHEPREFIX", "PYTHONHASHSEED",
        "PYTHONINTMAXSTRDIGITS", "PYTHONIOENCODING", "PYTHONNOUSERSITE", "PYTHONUSERBASE", "PYTHONWARNINGS",
        "PYTHONFAULTHANDLER", "PYTHONTRACEMALLOC", "PYTHONPROFILEIMPORTTIME", "PYTHONMALLOC", "PYTHONMALLOCSTATS",
        "PYTHONCOERCECLOCALE", "PYTHONDEVMODE", "PYTHONUTF8", "PYTHONWARNDEFAULTENCODING", "PYTHONNODEBUGRANGES",
        "PYTHONPERFSUPPORT", "PYTHON_PERF_JIT_SUPPORT", "PYTHON_CPU_COUNT", "PYTHON_FROZEN_MODULES", "PYTHON_GIL",
        "PYTHON_JIT", "PYTHONEXECUTABLE",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="environment"/> sets a variable only a fresh interpreter would honour.</summary>
    public static bool AnyIn(IReadOnlyDictionary<string, string> environment) => environment.Keys.Any(Names.Contains);
}
