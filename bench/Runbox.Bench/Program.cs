using Runbox.Bench;

// Prints every benchmark of Runbox in one run: timings are compared as ratios within this run.
// Usage: dotnet run -c Release --project bench/Runbox.Bench [-- COUNT]
var count = args.Length > 0 && int.TryParse(args[0], out var n) ? n : 200;
await EngineBench.RunAsync(count);
