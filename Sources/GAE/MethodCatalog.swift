import AbsLRPCore

/// The relevancy methods GAE evaluates, by name: the core registry
/// (``RelevancyMethods``) plus the checks a GAE run needs (at least one
/// method, no name twice). Programs can also pass any ``RelevancyMethod``
/// objects to ``GlobalAttributionEvaluation`` directly.
public enum GAEMethodCatalog {
    /// The methods called `names` (case-insensitive), in that order, for `classifier`.
    /// - Throws: ``GAEError/unknownMethod(name:known:)``, ``GAEError/duplicateMethod(_:)``,
    ///   ``GAEError/noMethods``; ``RelevancyMethodError`` for a method that
    ///   does not apply to the architecture or an invalid option.
    public static func methods(named names: [String], classifier: Classifier,
                               options: RelevancyMethodOptions = RelevancyMethodOptions()) throws -> [RelevancyMethod] {
        guard !names.isEmpty else { throw GAEError.noMethods }
        var seen = Set<String>()
        return try names.map { name in
            let key = name.lowercased()
            guard RelevancyMethods.names.contains(key) else {
                throw GAEError.unknownMethod(name: name, known: RelevancyMethods.names)
            }
            guard seen.insert(key).inserted else { throw GAEError.duplicateMethod(name) }
            return try RelevancyMethods.make(key, classifier: classifier, options: options)
        }
    }
}
