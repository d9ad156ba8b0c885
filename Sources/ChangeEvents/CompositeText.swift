/// Parsers for PostgreSQL's array, hstore, bit-string and point output.
enum CompositeText {
    /// An element as `forEachArrayElement` hands it over: its bytes are valid only during the call.
    enum ArrayElementBytes {
        case null
        case value(UnsafeRawBufferPointer)
        case nested
    }

    /// Calls `body` with each outer element of `{1,NULL,3}`, `{"a","b c"}`, `[0:1]={1,2}`, `{{1,2},{3,4}}`, in order,
    /// without copying unquoted elements; returns false when the text is not an array (or `body` returned false).
    static func forEachArrayElement(
        _ text: UnsafeRawBufferPointer, _ body: (ArrayElementBytes) -> Bool
    ) -> Bool {
        var start = 0
        var end = text.count
        if end > 0, text[0] == UInt8(ascii: "[") {
            while start < end, text[start] != UInt8(ascii: "=") { start += 1 }
            guard start < end else { return false }
            start += 1
        }
        guard end - start >= 2, text[start] == UInt8(ascii: "{"), text[end - 1] == UInt8(ascii: "}") else { return false }
        start += 1
        end -= 1
        if start == end { return true }
        // Quoted elements with escapes are unescaped here, one at a time.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: end - start) { scratch in
            var index = start
            while true {
                let byte = text[index]
                if byte == UInt8(ascii: "{") {
                    var depth = 0
                    var quoted = false
                    repeat {
                        let byte = text[index]
                        if quoted {
                            if byte == UInt8(ascii: "\\") { index += 1 } else if byte == UInt8(ascii: "\"") { quoted = false }
                        } else if byte == UInt8(ascii: "\"") {
                            quoted = true
                        } else if byte == UInt8(ascii: "{") {
                            depth += 1
                        } else if byte == UInt8(ascii: "}") {
                            depth -= 1
                        }
                        index += 1
                    } while depth > 0 && index < end
                    guard depth == 0, body(.nested) else { return false }
                } else if byte == UInt8(ascii: "\"") {
                    index += 1
                    var length = 0
                    var closed = false
                    while index < end {
                        var byte = text[index]
                        if byte == UInt8(ascii: "\\") {
                            index += 1
                            guard index < end else { return false }
                            byte = text[index]
                        } else if byte == UInt8(ascii: "\"") {
                            closed = true
                            index += 1
                            break
                        }
                        scratch[length] = byte
                        length += 1
                        index += 1
                    }
                    guard closed, body(.value(UnsafeRawBufferPointer(start: scratch.baseAddress, count: length))) else {
                        return false
                    }
                } else {
                    let tokenStart = index
                    while index < end, text[index] != UInt8(ascii: ",") { index += 1 }
                    let token = UnsafeRawBufferPointer(rebasing: text[tokenStart..<index])
                    let isNull =
                        token.count == 4 && token[0] == UInt8(ascii: "N") && token[1] == UInt8(ascii: "U")
                        && token[2] == UInt8(ascii: "L") && token[3] == UInt8(ascii: "L")
                    guard body(isNull ? .null : .value(token)) else { return false }
                }
                if index == end { return true }
                guard text[index] == UInt8(ascii: ",") else { return false }
                index += 1
            }
        }
    }

    /// `"a"=>"1", "b"=>NULL` → key/value pairs in output order.
    static func hstorePairs(_ text: some Collection<UInt8>) -> [(String, String?)]? {
        var bytes = Array(text)[...]
        var pairs: [(String, String?)] = []
        func quoted() -> String? {
            guard bytes.first == UInt8(ascii: "\"") else { return nil }
            bytes = bytes.dropFirst()
            var value: [UInt8] = []
            while let byte = bytes.first {
                bytes = bytes.dropFirst()
                if byte == UInt8(ascii: "\\") {
                    guard let next = bytes.first else { return nil }
                    value.append(next)
                    bytes = bytes.dropFirst()
                } else if byte == UInt8(ascii: "\"") {
                    return String(decoding: value, as: UTF8.self)
                } else {
                    value.append(byte)
                }
            }
            return nil
        }
        while !bytes.isEmpty {
            guard let key = quoted(), bytes.starts(with: "=>".utf8) else { return nil }
            bytes = bytes.dropFirst(2)
            if bytes.starts(with: "NULL".utf8) {
                bytes = bytes.dropFirst(4)
                pairs.append((key, nil))
            } else {
                guard let value = quoted() else { return nil }
                pairs.append((key, value))
            }
            if bytes.starts(with: ", ".utf8) { bytes = bytes.dropFirst(2) } else if !bytes.isEmpty { return nil }
        }
        return pairs
    }

    /// The iteration order of a `java.util.HashMap` filled in `keys` order (Debezium serialises hstore from one).
    static func javaHashMapOrder(_ keys: [String]) -> [Int] {
        var capacity = 16
        while Double(keys.count) > Double(capacity) * 0.75 { capacity *= 2 }
        func spread(_ key: String) -> Int {
            var hash: Int32 = 0
            for unit in key.utf16 { hash = hash &* 31 &+ Int32(unit) }
            let h = UInt32(bitPattern: hash)
            return Int(h ^ (h >> 16)) & (capacity - 1)
        }
        return keys.indices.sorted { (spread(keys[$0]), $0) < (spread(keys[$1]), $1) }
    }

    /// `10101010` → the bytes of `java.util.BitSet.toByteArray()` for it: little-endian, no trailing zero bytes.
    static func bitBytes(_ text: some Collection<UInt8>) -> [UInt8]? {
        let bits = Array(text)
        var bytes = [UInt8](repeating: 0, count: (bits.count + 7) / 8)
        for (position, bit) in bits.reversed().enumerated() {
            switch bit {
            case UInt8(ascii: "1"): bytes[position / 8] |= 1 << UInt8(position % 8)
            case UInt8(ascii: "0"): break
            default: return nil
            }
        }
        while bytes.last == 0 { bytes.removeLast() }
        return bytes
    }

    /// `(1.5,2)` → the two coordinates' texts.
    static func pointCoordinates(_ text: some Collection<UInt8>) -> ([UInt8], [UInt8])? {
        let bytes = Array(text)
        guard bytes.first == UInt8(ascii: "("), bytes.last == UInt8(ascii: ")"),
            let comma = bytes.firstIndex(of: UInt8(ascii: ","))
        else { return nil }
        return (Array(bytes[1..<comma]), Array(bytes[(comma + 1)..<(bytes.count - 1)]))
    }
}
