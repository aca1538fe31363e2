/// XS_CONTROL (Xen's control.c), privileged: "command\0arg\0…". Known commands: `print`,
/// `log`, `check`, `quota`, `help`; anything else is `EINVAL`.
extension XenStored {
    private static let controlCommands: [(name: String, help: String)] = [
        ("check", "check"), ("help", "help"), ("log", "log [on|off]"),
        ("print", "print <string>"), ("quota", "quota [<domid>]"),
    ]

    func doControl(_ r: Request) throws(XenStoreError) -> [UInt8] {
        let args = r.message.stringValues
        guard let command = args.first else { throw .EINVAL }
        let rest = Array(args.dropFirst())
        switch command {
        case "print":
            guard rest.count == 1 else { throw .EINVAL }
            logger.info("control: \(rest[0])")
            return xenStoreAck
        case "log":
            guard rest.isEmpty || (rest.count == 1 && (rest[0] == "on" || rest[0] == "off")) else { throw .EINVAL }
            return xenStoreAck
        case "check":
            return xenStoreAck
        case "help":
            return Array(Self.controlCommands.map { $0.help + "\n" }.joined().utf8) + [0]
        case "quota":
            return try controlQuota(rest)
        default:
            throw .EINVAL
        }
    }

    private func controlQuota(_ args: [String]) throws(XenStoreError) -> [UInt8] {
        var text: String
        if args.isEmpty {
            text = "Quota settings:\n"
            let rows: [(String, Int)] = [
                ("nodes", config.maxEntriesPerDomain), ("watches", config.maxWatchesPerDomain),
                ("transactions", config.maxTransactionsPerDomain),
                ("transaction-nodes", config.maxNodesPerTransaction),
                ("node-permissions", config.maxPermissionsPerNode), ("path-max", config.maxRelativePathLength),
                ("node-size", config.maxNodeSize), ("outstanding", config.maxOutstandingRequests),
            ]
            for (k, v) in rows { text += k.padding(to: 17) + ": \(v)\n" }
        } else {
            guard args.count == 1, let raw = UInt16(args[0]), let d = domains[.init(raw)] else { throw .ENOENT }
            text = "Domain \(raw):\n"
            text += "nodes".padding(to: 17) + ": \(db.owned(by: d.domid))\n"
            text += "watches".padding(to: 17) + ": \(d.connection.watches.count)\n"
            text += "transactions".padding(to: 17) + ": \(d.connection.transactions.count)\n"
        }
        return Array(text.utf8) + [0]
    }
}

extension String {
    fileprivate func padding(to width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
