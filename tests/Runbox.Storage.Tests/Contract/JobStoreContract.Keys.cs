using Runbox.Storage.Keys;

namespace Runbox.Storage.Tests.Contract;

public abstract partial class JobStoreContract
{
    [SkippableFact]
    public async Task FindKey_ReturnsKey_UntilRevoked()
    {
        await using var store = await NewStoreAsync();
        var key = new ApiKeyRecord { Id = "key_1", Name = "ci", Hash = new string('a', 64), IsAdmin = true, CreatedAt = TestJobs.Epoch };
        var other = new ApiKeyRecord { Id = "key_2", Name = "other", Hash = new string('b', 64), CreatedAt = TestJobs.Epoch.AddSeconds(1) };
        await store.InsertKeyAsync(key);
        await store.InsertKeyAsync(other);

        Assert.Equal(key, await store.FindKeyAsync(key.Hash));
        Assert.Null(await store.FindKeyAsync(new string('c', 64)));

        Assert.True(await store.RevokeKeyAsync(key.Id));
        Assert.True(await store.RevokeKeyAsync(key.Id));
        Assert.False(await store.RevokeKeyAsync("key_missing"));

        Assert.Null(await store.FindKeyAsync(key.Hash));
        Assert.Equal(other, await store.FindKeyAsync(other.Hash));
        var listed = await store.ListKeysAsync();
        Assert.Equal(["key_1", "key_2"], listed.Select(k => k.Id));
        Assert.Equal(Time.GetUtcNow(), listed[0].RevokedAt);
        Assert.Null(listed[1].RevokedAt);
    }

    [SkippableFact]
    public async Task InsertFirstAdminKey_InsertsOnlyOne_WhenCalledTogether()
    {
        await using var store = await NewStoreAsync();
        await store.InsertKeyAsync(new ApiKeyRecord { Id = "key_user", Name = "user", Hash = new string('u', 64), CreatedAt = TestJobs.Epoch });
        var candidates = Enumerable.Range(0, 8).Select(i => new ApiKeyRecord
        {
            Id = $"key_admin_{i}",
            Name = "admin",
            Hash = i.ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(64, 'f'),
            IsAdmin = true,
            CreatedAt = TestJobs.Epoch,
        }).ToList();

        var inserted = await Task.WhenAll(candidates.Select(key => Task.Run(() => store.InsertFirstAdminKeyAsync(key))));

        // A key that is not an admin's does not count as the first admin key.
        var winner = candidates[Assert.Single(Enumerable.Range(0, inserted.Length), i => inserted[i])];
        Assert.Equal(winner, Assert.Single(await store.ListKeysAsync(), k => k.IsAdmin));
    }

    [SkippableFact]
    public async Task InsertFirstAdminKey_InsertsAgain_WhenEveryAdminKeyIsRevoked()
    {
        await using var store = await NewStoreAsync();
        var first = new ApiKeyRecord { Id = "key_first", Name = "admin", Hash = new string('a', 64), IsAdmin = true, CreatedAt = TestJobs.Epoch };
        var second = first with { Id = "key_second", Hash = new string('b', 64) };
        Assert.True(await store.InsertFirstAdminKeyAsync(first));
        Assert.False(await store.InsertFirstAdminKeyAsync(second));

        await store.RevokeKeyAsync(first.Id);

        Assert.True(await store.InsertFirstAdminKeyAsync(second));
        Assert.Equal(second, await store.FindKeyAsync(second.Hash));
    }
}
