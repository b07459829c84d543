using System.CommandLine;
using System.Text.Json;
using Runbox.Cli.Client;
using Runbox.Server.Http;

namespace Runbox.Cli.Commands;

/// <summary><c>runbox keys create|list|revoke</c> (admin key needed).</summary>
internal static class KeysCommand
{
    public static Command Create()
    {
        var command = new Command("keys", "Manage API keys (needs an admin key).");

        var createClient = new ClientOptions();
        var name = new Argument<string>("name") { Description = "What the key is for." };
        var admin = new Option<bool>("--admin") { Description = "The key may see every job and manage keys." };
        var create = new Command("create", "Create a key; its secret is printed once.") { name, admin };
        createClient.AddTo(create);
        create.SetAction((parse, ct) => JobsCommand.Guard(async () =>
        {
            using var api = createClient.Connect(parse);
            var key = await api.CreateKeyAsync(parse.GetValue(name)!, parse.GetValue(admin), ct);
            Console.Error.WriteLine($"Created key {key.Id} ({key.Name}{(key.Admin ? ", admin" : "")}). The secret is shown only now:");
            Console.Out.WriteLine(key.Key);
        }));
        command.Subcommands.Add(create);

        var listClient = new ClientOptions();
        // --json as jobs list, runtimes list and jobs artifacts take it: a script finds a key's id without reading the table.
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var list = new Command("list", "List keys (never their secrets).") { json };
        listClient.AddTo(list);
        list.SetAction((parse, ct) => JobsCommand.Guard(async () =>
        {
            using var api = listClient.Connect(parse);
            var keys = await api.ListKeysAsync(ct);
            if (parse.GetValue(json))
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(keys, RunboxJsonContext.Default.KeyListResponse));
                return;
            }
            Table.Write(
                ["ID", "NAME", "ADMIN", "CREATED", "REVOKED"],
                keys.Keys.Select(k => new[]
                {
                    k.Id, k.Name, k.Admin ? "yes" : "no", k.CreatedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm"),
                    k.RevokedAt?.ToLocalTime().ToString("yyyy-MM-dd HH:mm") ?? "-",
                }));
        }));
        command.Subcommands.Add(list);

        var revokeClient = new ClientOptions();
        var id = PathArgument.Create("id", "key id", "The key id (key_...).");
        var revoke = new Command("revoke", "Revoke a key; requests with it are refused from now on.") { id };
        revokeClient.AddTo(revoke);
        revoke.SetAction((parse, ct) => JobsCommand.Guard(async () =>
        {
            using var api = revokeClient.Connect(parse);
            await api.RevokeKeyAsync(parse.GetValue(id)!, ct);
            Console.Out.WriteLine($"{parse.GetValue(id)} revoked");
        }));
        command.Subcommands.Add(revoke);
        return command;
    }
}
