using Runbox.Bench;

// Prints the benchmarks of Runbox in one run: timings are compared as ratios within this run.
// Usage: dotnet run -c Release --project bench/Runbox.Bench [-- COUNT [engine|sandbox|http|runtime|cluster|fastpath|heavy|logs|soak ...] [minutes=15] [retention=DAYS]]
// logs takes COUNT as thousands of lines (200: a job printing 200,000).
var count = args.Length > 0 && int.TryParse(args[0], out var n) ? n : 200;
var only = args.Skip(1).Where(a => !a.Contains('=')).ToHashSet(StringComparer.OrdinalIgnoreCase);
bool Wanted(string name) => only.Count == 0 || only.Contains(name);
// Into a cgroup of its own before anything starts, so every process the benchmarks start is counted with it.
Console.WriteLine($"CPU time per job counts the {MachineCpu.Scope}");

if (Wanted("engine"))
{
    await EngineBench.RunAsync(count);
}
if (only.Contains("fastpath"))
{
    await EngineBench.RunAsync(count, EngineBench.Part.FastPath);
}
if (only.Contains("heavy"))
{
    await EngineBench.RunAsync(count, EngineBench.Part.Heavy);
}
if (Wanted("sandbox"))
{
    await SandboxBench.RunAsync();
}
if (Wanted("http"))
{
    await HttpBench.RunAsync(count);
}
if (Wanted("runtime"))
{
    await RuntimeBench.RunAsync();
}
if (only.Contains("logs"))
{
    await LogsBench.RunAsync(count);
}
if (only.Contains("soak"))
{
    double Setting(string name, double fallback) =>
        args.Where(a => a.StartsWith(name + "=", StringComparison.Ordinal)).Select(a => double.Parse(a[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture)).LastOrDefault(fallback);
    await Runbox.Bench.Soak.SoakBench.RunAsync(count, Setting("minutes", 15), Setting("retention", 0));
}
if (Wanted("cluster"))
{
    await ClusterBench.RunAsync();
}
