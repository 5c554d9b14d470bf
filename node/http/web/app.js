// The browsing page: everything comes from this node's /api/v1 (nothing from the internet).
// Its language is ?lang= in the page's address, else the browser's first one it offers;
// every search, filter, sort and page lives in the address (#/?q=…&theme=…&pages=2).
'use strict';
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const state = { q: '', filters: {}, sort: '', pages: 1, next: null };

// Interface strings in the page's languages (written for the project). {x}: a value.
const STRINGS = {
  en: { practices: 'Practices', plans: 'Plans', coverage: 'Coverage', network: 'Network', search: 'Search', language: 'Language',
    placeholder: 'Search practices in any language (e.g. beskæftigelse, housing, 就业, Malmo)', more: 'More results', noFilters: 'No filters.',
    theme: 'Theme', city: 'City', commitment: 'Commitment', region: 'Region', sort: 'Sort', relevance: 'relevance', byTitle: 'title', updated: 'latest',
    results: '{n} practices', result1: '1 practice', matching: 'matching “{q}”', readAs: '“{word}” also finds the theme {theme} ({lang})',
    matchedIn: 'found in its {lang} translation', export: 'Export these results:', version: 'version', signedBy: 'signed by', theCity: 'the city',
    themes: 'Themes', principles: 'Principles', commitments: 'Commitments', partners: 'Partners', outcomes: 'Outcomes', indicator: 'indicator',
    value: 'value', unit: 'unit', year: 'year', started: 'Started', ended: 'Ended', links: 'Links', contact: 'Contact', translations: 'Translations',
    history: 'Version history', published: 'published', title: 'title', changes: 'changes', first: 'first version', back: '← back to the results',
    translatedBy: 'Translated from {from} by {city}', outdated: 'outdated: the original has changed since', original: 'show the original',
    noTranslation: 'No translation into {lang}: the original ({from}).', coverageTitle: 'Commitment coverage', framework: 'Framework',
    covered: 'covered', byTheme: 'By theme', byYear: 'By year started', byRegion: 'By region', publicPractices: '{n} public practices',
    plansTitle: 'Action plans', plan: 'Plan', period: 'Period', items: 'Items', noPlans: 'No public plans yet.', coalitions: 'Coalitions',
    twins: 'Twin cities', travelled: 'Practices that travelled', none: 'none declared', legendTwin: 'twin cities', legendCoalition: 'coalition member – lead',
    indexBuilding: 'The search index is being built ({indexed} of {of} records read): words are matched once it is ready; showing the list without them meanwhile.',
    indexOff: 'This node runs without a search index: words are not matched; showing the list without them.' },
  fr: { practices: 'Pratiques', plans: 'Plans', coverage: 'Couverture', network: 'Réseau', search: 'Rechercher', language: 'Langue',
    placeholder: 'Chercher des pratiques dans toutes les langues (ex. emploi, logement, 就业, Malmo)', more: 'Plus de résultats', noFilters: 'Aucun filtre.',
    theme: 'Thème', city: 'Ville', commitment: 'Engagement', region: 'Région', sort: 'Trier', relevance: 'pertinence', byTitle: 'titre', updated: 'plus récentes',
    results: '{n} pratiques', result1: '1 pratique', matching: 'pour « {q} »', readAs: '« {word} » trouve aussi le thème {theme} ({lang})',
    matchedIn: 'trouvée dans sa traduction en {lang}', export: 'Exporter ces résultats :', version: 'version', signedBy: 'signé par', theCity: 'la ville',
    themes: 'Thèmes', principles: 'Principes', commitments: 'Engagements', partners: 'Partenaires', outcomes: 'Résultats', indicator: 'indicateur',
    value: 'valeur', unit: 'unité', year: 'année', started: 'Début', ended: 'Fin', links: 'Liens', contact: 'Contact', translations: 'Traductions',
    history: 'Historique des versions', published: 'publiée', title: 'titre', changes: 'modifications', first: 'première version', back: '← retour aux résultats',
    translatedBy: 'Traduit de {from} par {city}', outdated: 'à mettre à jour : l’original a changé depuis', original: 'voir l’original',
    noTranslation: 'Pas de traduction en {lang} : l’original ({from}).', coverageTitle: 'Couverture des engagements', framework: 'Cadre',
    covered: 'couverts', byTheme: 'Par thème', byYear: 'Par année de début', byRegion: 'Par région', publicPractices: '{n} pratiques publiques',
    plansTitle: 'Plans d’action', plan: 'Plan', period: 'Période', items: 'Actions', noPlans: 'Aucun plan public pour l’instant.', coalitions: 'Coalitions',
    twins: 'Villes jumelles', travelled: 'Pratiques qui ont voyagé', none: 'aucune déclarée', legendTwin: 'villes jumelles', legendCoalition: 'membre – ville chef de file',
    indexBuilding: 'L’index de recherche est en construction ({indexed} sur {of}) : les mots seront pris en compte ensuite ; liste sans les mots en attendant.',
    indexOff: 'Ce nœud n’a pas d’index de recherche : les mots ne sont pas pris en compte.' },
  es: { practices: 'Prácticas', plans: 'Planes', coverage: 'Cobertura', network: 'Red', search: 'Buscar', language: 'Idioma',
    placeholder: 'Buscar prácticas en cualquier idioma (p. ej. empleo, vivienda, 就业, Malmo)', more: 'Más resultados', noFilters: 'Sin filtros.',
    theme: 'Tema', city: 'Ciudad', commitment: 'Compromiso', region: 'Región', sort: 'Ordenar', relevance: 'relevancia', byTitle: 'título', updated: 'más recientes',
    results: '{n} prácticas', result1: '1 práctica', matching: 'para «{q}»', readAs: '«{word}» también encuentra el tema {theme} ({lang})',
    matchedIn: 'encontrada en su traducción al {lang}', export: 'Exportar estos resultados:', version: 'versión', signedBy: 'firmado por', theCity: 'la ciudad',
    themes: 'Temas', principles: 'Principios', commitments: 'Compromisos', partners: 'Socios', outcomes: 'Resultados', indicator: 'indicador',
    value: 'valor', unit: 'unidad', year: 'año', started: 'Inicio', ended: 'Fin', links: 'Enlaces', contact: 'Contacto', translations: 'Traducciones',
    history: 'Historial de versiones', published: 'publicada', title: 'título', changes: 'cambios', first: 'primera versión', back: '← volver a los resultados',
    translatedBy: 'Traducido del {from} por {city}', outdated: 'desactualizada: el original ha cambiado', original: 'ver el original',
    noTranslation: 'No hay traducción al {lang}: el original ({from}).', coverageTitle: 'Cobertura de compromisos', framework: 'Marco',
    covered: 'cubiertos', byTheme: 'Por tema', byYear: 'Por año de inicio', byRegion: 'Por región', publicPractices: '{n} prácticas públicas',
    plansTitle: 'Planes de acción', plan: 'Plan', period: 'Periodo', items: 'Acciones', noPlans: 'Aún no hay planes públicos.', coalitions: 'Coaliciones',
    twins: 'Ciudades hermanadas', travelled: 'Prácticas que viajaron', none: 'ninguna declarada', legendTwin: 'ciudades hermanadas', legendCoalition: 'miembro – ciudad líder',
    indexBuilding: 'Se está construyendo el índice de búsqueda ({indexed} de {of}): las palabras se tendrán en cuenta cuando esté listo.',
    indexOff: 'Este nodo no tiene índice de búsqueda: no se buscan palabras.' },
  de: { practices: 'Praktiken', plans: 'Pläne', coverage: 'Abdeckung', network: 'Netzwerk', search: 'Suchen', language: 'Sprache',
    placeholder: 'Praktiken in jeder Sprache suchen (z. B. Beschäftigung, Wohnen, 就业, Malmo)', more: 'Weitere Ergebnisse', noFilters: 'Keine Filter.',
    theme: 'Thema', city: 'Stadt', commitment: 'Verpflichtung', region: 'Region', sort: 'Sortieren', relevance: 'Relevanz', byTitle: 'Titel', updated: 'neueste',
    results: '{n} Praktiken', result1: '1 Praxis', matching: 'zu „{q}“', readAs: '„{word}“ findet auch das Thema {theme} ({lang})',
    matchedIn: 'gefunden in der Übersetzung ({lang})', export: 'Diese Ergebnisse exportieren:', version: 'Version', signedBy: 'signiert von', theCity: 'der Stadt',
    themes: 'Themen', principles: 'Grundsätze', commitments: 'Verpflichtungen', partners: 'Partner', outcomes: 'Ergebnisse', indicator: 'Indikator',
    value: 'Wert', unit: 'Einheit', year: 'Jahr', started: 'Beginn', ended: 'Ende', links: 'Links', contact: 'Kontakt', translations: 'Übersetzungen',
    history: 'Versionsverlauf', published: 'veröffentlicht', title: 'Titel', changes: 'Änderungen', first: 'erste Version', back: '← zurück zu den Ergebnissen',
    translatedBy: 'Übersetzt aus dem {from} von {city}', outdated: 'veraltet: das Original hat sich seitdem geändert', original: 'Original anzeigen',
    noTranslation: 'Keine Übersetzung ins {lang}: das Original ({from}).', coverageTitle: 'Abdeckung der Verpflichtungen', framework: 'Rahmen',
    covered: 'abgedeckt', byTheme: 'Nach Thema', byYear: 'Nach Startjahr', byRegion: 'Nach Region', publicPractices: '{n} öffentliche Praktiken',
    plansTitle: 'Aktionspläne', plan: 'Plan', period: 'Zeitraum', items: 'Maßnahmen', noPlans: 'Noch keine öffentlichen Pläne.', coalitions: 'Koalitionen',
    twins: 'Partnerstädte', travelled: 'Praktiken, die gereist sind', none: 'keine erklärt', legendTwin: 'Partnerstädte', legendCoalition: 'Mitglied – federführende Stadt',
    indexBuilding: 'Der Suchindex wird aufgebaut ({indexed} von {of}): Wörter werden berücksichtigt, sobald er fertig ist.',
    indexOff: 'Dieser Knoten hat keinen Suchindex: Wörter werden nicht berücksichtigt.' },
  nl: { practices: 'Praktijken', plans: 'Plannen', coverage: 'Dekking', network: 'Netwerk', search: 'Zoeken', language: 'Taal',
    placeholder: 'Zoek praktijken in elke taal (bijv. werkgelegenheid, huisvesting, 就业, Malmo)', more: 'Meer resultaten', noFilters: 'Geen filters.',
    theme: 'Thema', city: 'Stad', commitment: 'Verbintenis', region: 'Regio', sort: 'Sorteren', relevance: 'relevantie', byTitle: 'titel', updated: 'nieuwste',
    results: '{n} praktijken', result1: '1 praktijk', matching: 'voor ‘{q}’', readAs: '‘{word}’ vindt ook het thema {theme} ({lang})',
    matchedIn: 'gevonden in de vertaling ({lang})', export: 'Deze resultaten exporteren:', version: 'versie', signedBy: 'ondertekend door', theCity: 'de stad',
    themes: 'Thema’s', principles: 'Principes', commitments: 'Verbintenissen', partners: 'Partners', outcomes: 'Resultaten', indicator: 'indicator',
    value: 'waarde', unit: 'eenheid', year: 'jaar', started: 'Begin', ended: 'Einde', links: 'Links', contact: 'Contact', translations: 'Vertalingen',
    history: 'Versiegeschiedenis', published: 'gepubliceerd', title: 'titel', changes: 'wijzigingen', first: 'eerste versie', back: '← terug naar de resultaten',
    translatedBy: 'Vertaald uit het {from} door {city}', outdated: 'verouderd: het origineel is sindsdien gewijzigd', original: 'origineel tonen',
    noTranslation: 'Geen vertaling naar het {lang}: het origineel ({from}).', coverageTitle: 'Dekking van de verbintenissen', framework: 'Kader',
    covered: 'gedekt', byTheme: 'Per thema', byYear: 'Per startjaar', byRegion: 'Per regio', publicPractices: '{n} openbare praktijken',
    plansTitle: 'Actieplannen', plan: 'Plan', period: 'Periode', items: 'Acties', noPlans: 'Nog geen openbare plannen.', coalitions: 'Coalities',
    twins: 'Zustersteden', travelled: 'Praktijken die reisden', none: 'geen gemeld', legendTwin: 'zustersteden', legendCoalition: 'lid – trekkende stad',
    indexBuilding: 'De zoekindex wordt opgebouwd ({indexed} van {of}): woorden tellen mee zodra hij klaar is.',
    indexOff: 'Deze node heeft geen zoekindex: woorden tellen niet mee.' },
  da: { practices: 'Praksisser', plans: 'Planer', coverage: 'Dækning', network: 'Netværk', search: 'Søg', language: 'Sprog',
    placeholder: 'Søg praksisser på alle sprog (f.eks. beskæftigelse, bolig, 就业, Malmo)', more: 'Flere resultater', noFilters: 'Ingen filtre.',
    theme: 'Tema', city: 'By', commitment: 'Forpligtelse', region: 'Region', sort: 'Sortér', relevance: 'relevans', byTitle: 'titel', updated: 'nyeste',
    results: '{n} praksisser', result1: '1 praksis', matching: 'for »{q}«', readAs: '»{word}« finder også temaet {theme} ({lang})',
    matchedIn: 'fundet i oversættelsen ({lang})', export: 'Eksportér disse resultater:', version: 'version', signedBy: 'underskrevet af', theCity: 'byen',
    themes: 'Temaer', principles: 'Principper', commitments: 'Forpligtelser', partners: 'Partnere', outcomes: 'Resultater', indicator: 'indikator',
    value: 'værdi', unit: 'enhed', year: 'år', started: 'Start', ended: 'Slut', links: 'Links', contact: 'Kontakt', translations: 'Oversættelser',
    history: 'Versionshistorik', published: 'udgivet', title: 'titel', changes: 'ændringer', first: 'første version', back: '← tilbage til resultaterne',
    translatedBy: 'Oversat fra {from} af {city}', outdated: 'forældet: originalen er ændret siden', original: 'vis originalen',
    noTranslation: 'Ingen oversættelse til {lang}: originalen ({from}).', coverageTitle: 'Dækning af forpligtelser', framework: 'Ramme',
    covered: 'dækket', byTheme: 'Efter tema', byYear: 'Efter startår', byRegion: 'Efter region', publicPractices: '{n} offentlige praksisser',
    plansTitle: 'Handlingsplaner', plan: 'Plan', period: 'Periode', items: 'Indsatser', noPlans: 'Ingen offentlige planer endnu.', coalitions: 'Koalitioner',
    twins: 'Venskabsbyer', travelled: 'Praksisser der rejste', none: 'ingen erklæret', legendTwin: 'venskabsbyer', legendCoalition: 'medlem – ledende by',
    indexBuilding: 'Søgeindekset bygges ({indexed} af {of}): ord tælles med, når det er klar.',
    indexOff: 'Denne node har intet søgeindeks: ord tælles ikke med.' },
  sv: { practices: 'Praktiker', plans: 'Planer', coverage: 'Täckning', network: 'Nätverk', search: 'Sök', language: 'Språk',
    placeholder: 'Sök praktiker på alla språk (t.ex. sysselsättning, boende, 就业, Malmo)', more: 'Fler resultat', noFilters: 'Inga filter.',
    theme: 'Tema', city: 'Stad', commitment: 'Åtagande', region: 'Region', sort: 'Sortera', relevance: 'relevans', byTitle: 'titel', updated: 'senaste',
    results: '{n} praktiker', result1: '1 praktik', matching: 'för ”{q}”', readAs: '”{word}” hittar också temat {theme} ({lang})',
    matchedIn: 'hittad i översättningen ({lang})', export: 'Exportera dessa resultat:', version: 'version', signedBy: 'signerad av', theCity: 'staden',
    themes: 'Teman', principles: 'Principer', commitments: 'Åtaganden', partners: 'Partner', outcomes: 'Resultat', indicator: 'indikator',
    value: 'värde', unit: 'enhet', year: 'år', started: 'Start', ended: 'Slut', links: 'Länkar', contact: 'Kontakt', translations: 'Översättningar',
    history: 'Versionshistorik', published: 'publicerad', title: 'titel', changes: 'ändringar', first: 'första versionen', back: '← tillbaka till resultaten',
    translatedBy: 'Översatt från {from} av {city}', outdated: 'inaktuell: originalet har ändrats sedan dess', original: 'visa originalet',
    noTranslation: 'Ingen översättning till {lang}: originalet ({from}).', coverageTitle: 'Täckning av åtaganden', framework: 'Ramverk',
    covered: 'täckta', byTheme: 'Per tema', byYear: 'Per startår', byRegion: 'Per region', publicPractices: '{n} offentliga praktiker',
    plansTitle: 'Handlingsplaner', plan: 'Plan', period: 'Period', items: 'Åtgärder', noPlans: 'Inga offentliga planer ännu.', coalitions: 'Koalitioner',
    twins: 'Vänorter', travelled: 'Praktiker som spridits', none: 'inga angivna', legendTwin: 'vänorter', legendCoalition: 'medlem – ledande stad',
    indexBuilding: 'Sökindexet byggs ({indexed} av {of}): ord räknas när det är klart.',
    indexOff: 'Denna nod har inget sökindex: ord räknas inte.' },
  pt: { practices: 'Práticas', plans: 'Planos', coverage: 'Cobertura', network: 'Rede', search: 'Pesquisar', language: 'Idioma',
    placeholder: 'Pesquisar práticas em qualquer língua (ex. emprego, habitação, 就业, Malmo)', more: 'Mais resultados', noFilters: 'Sem filtros.',
    theme: 'Tema', city: 'Cidade', commitment: 'Compromisso', region: 'Região', sort: 'Ordenar', relevance: 'relevância', byTitle: 'título', updated: 'mais recentes',
    results: '{n} práticas', result1: '1 prática', matching: 'para «{q}»', readAs: '«{word}» também encontra o tema {theme} ({lang})',
    matchedIn: 'encontrada na sua tradução ({lang})', export: 'Exportar estes resultados:', version: 'versão', signedBy: 'assinado por', theCity: 'a cidade',
    themes: 'Temas', principles: 'Princípios', commitments: 'Compromissos', partners: 'Parceiros', outcomes: 'Resultados', indicator: 'indicador',
    value: 'valor', unit: 'unidade', year: 'ano', started: 'Início', ended: 'Fim', links: 'Ligações', contact: 'Contacto', translations: 'Traduções',
    history: 'Histórico de versões', published: 'publicada', title: 'título', changes: 'alterações', first: 'primeira versão', back: '← voltar aos resultados',
    translatedBy: 'Traduzido do {from} por {city}', outdated: 'desatualizada: o original mudou desde então', original: 'ver o original',
    noTranslation: 'Sem tradução para {lang}: o original ({from}).', coverageTitle: 'Cobertura dos compromissos', framework: 'Quadro',
    covered: 'cobertos', byTheme: 'Por tema', byYear: 'Por ano de início', byRegion: 'Por região', publicPractices: '{n} práticas públicas',
    plansTitle: 'Planos de ação', plan: 'Plano', period: 'Período', items: 'Ações', noPlans: 'Ainda não há planos públicos.', coalitions: 'Coligações',
    twins: 'Cidades geminadas', travelled: 'Práticas que viajaram', none: 'nenhuma declarada', legendTwin: 'cidades geminadas', legendCoalition: 'membro – cidade líder',
    indexBuilding: 'O índice de pesquisa está a ser construído ({indexed} de {of}): as palavras contam quando estiver pronto.',
    indexOff: 'Este nó não tem índice de pesquisa: as palavras não contam.' },
  ar: { practices: 'الممارسات', plans: 'الخطط', coverage: 'التغطية', network: 'الشبكة', search: 'بحث', language: 'اللغة',
    placeholder: 'ابحث عن الممارسات بأي لغة (مثل التوظيف، السكن، 就业)', more: 'مزيد من النتائج', noFilters: 'لا توجد مرشحات.',
    theme: 'الموضوع', city: 'المدينة', commitment: 'الالتزام', region: 'المنطقة', sort: 'ترتيب', relevance: 'الصلة', byTitle: 'العنوان', updated: 'الأحدث',
    results: '{n} ممارسة', result1: 'ممارسة واحدة', matching: 'تطابق «{q}»', readAs: '«{word}» يجد أيضاً موضوع {theme} ({lang})',
    matchedIn: 'وُجدت في ترجمتها ({lang})', export: 'تصدير هذه النتائج:', version: 'الإصدار', signedBy: 'موقّع من', theCity: 'المدينة',
    themes: 'المواضيع', principles: 'المبادئ', commitments: 'الالتزامات', partners: 'الشركاء', outcomes: 'النتائج', indicator: 'المؤشر',
    value: 'القيمة', unit: 'الوحدة', year: 'السنة', started: 'البداية', ended: 'النهاية', links: 'روابط', contact: 'الاتصال', translations: 'الترجمات',
    history: 'سجل الإصدارات', published: 'نُشر', title: 'العنوان', changes: 'التغييرات', first: 'الإصدار الأول', back: '→ العودة إلى النتائج',
    translatedBy: 'ترجمة من {from} بواسطة {city}', outdated: 'قديمة: تغيّر الأصل منذ ذلك الحين', original: 'عرض الأصل',
    noTranslation: 'لا توجد ترجمة إلى {lang}: الأصل ({from}).', coverageTitle: 'تغطية الالتزامات', framework: 'الإطار',
    covered: 'مغطاة', byTheme: 'حسب الموضوع', byYear: 'حسب سنة البدء', byRegion: 'حسب المنطقة', publicPractices: '{n} ممارسة عامة',
    plansTitle: 'خطط العمل', plan: 'الخطة', period: 'الفترة', items: 'الإجراءات', noPlans: 'لا توجد خطط عامة بعد.', coalitions: 'التحالفات',
    twins: 'المدن التوأم', travelled: 'ممارسات انتقلت', none: 'لا شيء', legendTwin: 'مدن توأم', legendCoalition: 'عضو – المدينة الرائدة',
    indexBuilding: 'يجري بناء فهرس البحث ({indexed} من {of}): تُحتسب الكلمات عند اكتماله.',
    indexOff: 'لا يملك هذا الخادم فهرس بحث: لا تُحتسب الكلمات.' },
  zh: { practices: '实践', plans: '计划', coverage: '覆盖', network: '网络', search: '搜索', language: '语言',
    placeholder: '用任何语言搜索实践（例如 就业、住房、emploi、Malmo）', more: '更多结果', noFilters: '无筛选条件。',
    theme: '主题', city: '城市', commitment: '承诺', region: '地区', sort: '排序', relevance: '相关性', byTitle: '标题', updated: '最新',
    results: '{n} 项实践', result1: '1 项实践', matching: '匹配“{q}”', readAs: '“{word}”也匹配主题 {theme}（{lang}）',
    matchedIn: '在其{lang}译文中找到', export: '导出这些结果：', version: '版本', signedBy: '签署者', theCity: '本市',
    themes: '主题', principles: '原则', commitments: '承诺', partners: '合作伙伴', outcomes: '成果', indicator: '指标',
    value: '数值', unit: '单位', year: '年份', started: '开始', ended: '结束', links: '链接', contact: '联系方式', translations: '译文',
    history: '版本历史', published: '发布', title: '标题', changes: '修改', first: '第一版', back: '← 返回结果',
    translatedBy: '由{city}译自{from}', outdated: '已过时：原文此后已修改', original: '查看原文',
    noTranslation: '没有{lang}译文：显示原文（{from}）。', coverageTitle: '承诺覆盖情况', framework: '框架',
    covered: '已覆盖', byTheme: '按主题', byYear: '按开始年份', byRegion: '按地区', publicPractices: '{n} 项公开实践',
    plansTitle: '行动计划', plan: '计划', period: '期间', items: '行动', noPlans: '尚无公开计划。', coalitions: '联盟',
    twins: '友好城市', travelled: '传播开来的实践', none: '无', legendTwin: '友好城市', legendCoalition: '成员 – 牵头城市',
    indexBuilding: '正在建立搜索索引（{indexed}/{of}）：完成后才匹配词语。',
    indexOff: '此节点没有搜索索引：不匹配词语。' },
};
// The plan and commitment pages' words (statuses as the input vocabulary names them).
const MONITORING_STRINGS = {
  en: { ofTarget: '{latest} of target {target}', baseline: 'baseline {v}', increase: 'to increase', decrease: 'to decrease', targetMet: 'target met',
    achieved: '{pct}% of the way', improving: '↗ improving', worsening: '↘ worsening', steady: '→ steady', downloadSvg: 'download SVG',
    noReports: 'no reports yet', planSummary: '{reported}/{indicators} indicators reported · {met} targets met · {overdue} items overdue',
    item: 'Item', action: 'Action', status: 'Status', due: 'Due', overdue: 'overdue', allPlans: '← all plans', planItems: 'Plan items',
    citiesAct: '{n} cities act on this commitment.', citiesAct1: '1 city acts on this commitment.', backCoverage: '← coverage',
    overTime: '{name} over time', ofShort: '{latest} of {target}',
    'st:planned': 'planned', 'st:in-progress': 'in progress', 'st:done': 'done', 'st:delayed': 'delayed', 'st:dropped': 'dropped' },
  fr: { ofTarget: '{latest} sur une cible de {target}', baseline: 'référence {v}', increase: 'à augmenter', decrease: 'à réduire', targetMet: 'cible atteinte',
    achieved: '{pct} % du chemin', improving: '↗ en progrès', worsening: '↘ en recul', steady: '→ stable', downloadSvg: 'télécharger le SVG',
    noReports: 'aucun rapport pour l’instant', planSummary: '{reported}/{indicators} indicateurs renseignés · {met} cibles atteintes · {overdue} actions en retard',
    item: 'Action', action: 'Description', status: 'État', due: 'Échéance', overdue: 'en retard', allPlans: '← tous les plans', planItems: 'Actions de plans',
    citiesAct: '{n} villes agissent sur cet engagement.', citiesAct1: '1 ville agit sur cet engagement.', backCoverage: '← couverture',
    overTime: '{name} dans le temps', ofShort: '{latest} sur {target}',
    'st:planned': 'prévue', 'st:in-progress': 'en cours', 'st:done': 'réalisée', 'st:delayed': 'retardée', 'st:dropped': 'abandonnée' },
  es: { ofTarget: '{latest} de una meta de {target}', baseline: 'línea de base {v}', increase: 'a aumentar', decrease: 'a reducir', targetMet: 'meta alcanzada',
    achieved: '{pct} % del camino', improving: '↗ mejora', worsening: '↘ empeora', steady: '→ estable', downloadSvg: 'descargar SVG',
    noReports: 'aún no hay informes', planSummary: '{reported}/{indicators} indicadores informados · {met} metas alcanzadas · {overdue} acciones atrasadas',
    item: 'Acción', action: 'Descripción', status: 'Estado', due: 'Plazo', overdue: 'atrasada', allPlans: '← todos los planes', planItems: 'Acciones de planes',
    citiesAct: '{n} ciudades actúan sobre este compromiso.', citiesAct1: '1 ciudad actúa sobre este compromiso.', backCoverage: '← cobertura',
    overTime: '{name} en el tiempo', ofShort: '{latest} de {target}',
    'st:planned': 'prevista', 'st:in-progress': 'en curso', 'st:done': 'realizada', 'st:delayed': 'retrasada', 'st:dropped': 'abandonada' },
  de: { ofTarget: '{latest} von Ziel {target}', baseline: 'Ausgangswert {v}', increase: 'steigern', decrease: 'senken', targetMet: 'Ziel erreicht',
    achieved: '{pct} % des Weges', improving: '↗ besser', worsening: '↘ schlechter', steady: '→ gleichbleibend', downloadSvg: 'SVG herunterladen',
    noReports: 'noch keine Berichte', planSummary: '{reported}/{indicators} Indikatoren berichtet · {met} Ziele erreicht · {overdue} Maßnahmen überfällig',
    item: 'Maßnahme', action: 'Beschreibung', status: 'Stand', due: 'Fällig', overdue: 'überfällig', allPlans: '← alle Pläne', planItems: 'Maßnahmen aus Plänen',
    citiesAct: '{n} Städte handeln zu dieser Verpflichtung.', citiesAct1: '1 Stadt handelt zu dieser Verpflichtung.', backCoverage: '← Abdeckung',
    overTime: '{name} im Zeitverlauf', ofShort: '{latest} von {target}',
    'st:planned': 'geplant', 'st:in-progress': 'in Arbeit', 'st:done': 'erledigt', 'st:delayed': 'verzögert', 'st:dropped': 'aufgegeben' },
  nl: { ofTarget: '{latest} van doel {target}', baseline: 'nulmeting {v}', increase: 'te verhogen', decrease: 'te verlagen', targetMet: 'doel gehaald',
    achieved: '{pct}% van de weg', improving: '↗ verbetert', worsening: '↘ verslechtert', steady: '→ stabiel', downloadSvg: 'SVG downloaden',
    noReports: 'nog geen rapportages', planSummary: '{reported}/{indicators} indicatoren gerapporteerd · {met} doelen gehaald · {overdue} acties te laat',
    item: 'Actie', action: 'Omschrijving', status: 'Status', due: 'Deadline', overdue: 'te laat', allPlans: '← alle plannen', planItems: 'Acties uit plannen',
    citiesAct: '{n} steden werken aan deze verplichting.', citiesAct1: '1 stad werkt aan deze verplichting.', backCoverage: '← dekking',
    overTime: '{name} door de tijd', ofShort: '{latest} van {target}',
    'st:planned': 'gepland', 'st:in-progress': 'bezig', 'st:done': 'klaar', 'st:delayed': 'vertraagd', 'st:dropped': 'geschrapt' },
  da: { ofTarget: '{latest} af målet {target}', baseline: 'udgangspunkt {v}', increase: 'skal stige', decrease: 'skal falde', targetMet: 'mål nået',
    achieved: '{pct} % af vejen', improving: '↗ bedre', worsening: '↘ værre', steady: '→ stabil', downloadSvg: 'hent SVG',
    noReports: 'ingen rapporter endnu', planSummary: '{reported}/{indicators} indikatorer rapporteret · {met} mål nået · {overdue} indsatser forsinket',
    item: 'Indsats', action: 'Beskrivelse', status: 'Status', due: 'Frist', overdue: 'forsinket', allPlans: '← alle planer', planItems: 'Indsatser i planer',
    citiesAct: '{n} byer arbejder med denne forpligtelse.', citiesAct1: '1 by arbejder med denne forpligtelse.', backCoverage: '← dækning',
    overTime: '{name} over tid', ofShort: '{latest} af {target}',
    'st:planned': 'planlagt', 'st:in-progress': 'i gang', 'st:done': 'gennemført', 'st:delayed': 'forsinket', 'st:dropped': 'opgivet' },
  sv: { ofTarget: '{latest} av målet {target}', baseline: 'utgångsläge {v}', increase: 'ska öka', decrease: 'ska minska', targetMet: 'målet nått',
    achieved: '{pct} % av vägen', improving: '↗ bättre', worsening: '↘ sämre', steady: '→ stabil', downloadSvg: 'ladda ner SVG',
    noReports: 'inga rapporter ännu', planSummary: '{reported}/{indicators} indikatorer rapporterade · {met} mål nådda · {overdue} åtgärder försenade',
    item: 'Åtgärd', action: 'Beskrivning', status: 'Status', due: 'Senast', overdue: 'försenad', allPlans: '← alla planer', planItems: 'Åtgärder i planer',
    citiesAct: '{n} städer arbetar med detta åtagande.', citiesAct1: '1 stad arbetar med detta åtagande.', backCoverage: '← täckning',
    overTime: '{name} över tid', ofShort: '{latest} av {target}',
    'st:planned': 'planerad', 'st:in-progress': 'pågår', 'st:done': 'klar', 'st:delayed': 'försenad', 'st:dropped': 'struken' },
  pt: { ofTarget: '{latest} de uma meta de {target}', baseline: 'linha de base {v}', increase: 'a aumentar', decrease: 'a reduzir', targetMet: 'meta atingida',
    achieved: '{pct}% do caminho', improving: '↗ melhora', worsening: '↘ piora', steady: '→ estável', downloadSvg: 'baixar SVG',
    noReports: 'ainda sem relatórios', planSummary: '{reported}/{indicators} indicadores relatados · {met} metas atingidas · {overdue} ações atrasadas',
    item: 'Ação', action: 'Descrição', status: 'Situação', due: 'Prazo', overdue: 'atrasada', allPlans: '← todos os planos', planItems: 'Ações de planos',
    citiesAct: '{n} cidades atuam neste compromisso.', citiesAct1: '1 cidade atua neste compromisso.', backCoverage: '← cobertura',
    overTime: '{name} ao longo do tempo', ofShort: '{latest} de {target}',
    'st:planned': 'prevista', 'st:in-progress': 'em curso', 'st:done': 'concluída', 'st:delayed': 'atrasada', 'st:dropped': 'abandonada' },
  ar: { ofTarget: '{latest} من هدف {target}', baseline: 'خط الأساس {v}', increase: 'للزيادة', decrease: 'للخفض', targetMet: 'تحقق الهدف',
    achieved: '{pct}٪ من الطريق', improving: '↗ يتحسن', worsening: '↘ يتراجع', steady: '→ مستقر', downloadSvg: 'تنزيل SVG',
    noReports: 'لا توجد تقارير بعد', planSummary: '{reported}/{indicators} مؤشرات مُبلَّغ عنها · {met} أهداف محققة · {overdue} إجراءات متأخرة',
    item: 'الإجراء', action: 'الوصف', status: 'الحالة', due: 'الموعد', overdue: 'متأخر', allPlans: '← كل الخطط', planItems: 'إجراءات الخطط',
    citiesAct: '{n} مدن تعمل على هذا الالتزام.', citiesAct1: 'مدينة واحدة تعمل على هذا الالتزام.', backCoverage: '← التغطية',
    overTime: '{name} عبر الزمن', ofShort: '{latest} من {target}',
    'st:planned': 'مخطط', 'st:in-progress': 'قيد التنفيذ', 'st:done': 'منجز', 'st:delayed': 'متأخر', 'st:dropped': 'ملغى' },
  zh: { ofTarget: '{latest}，目标 {target}', baseline: '基线 {v}', increase: '应提高', decrease: '应降低', targetMet: '已达标',
    achieved: '已完成 {pct}%', improving: '↗ 改善', worsening: '↘ 恶化', steady: '→ 持平', downloadSvg: '下载 SVG',
    noReports: '尚无报告', planSummary: '已报告 {reported}/{indicators} 项指标 · {met} 项达标 · {overdue} 项行动逾期',
    item: '行动', action: '内容', status: '状态', due: '截止', overdue: '逾期', allPlans: '← 全部计划', planItems: '计划中的行动',
    citiesAct: '{n} 个城市落实此承诺。', citiesAct1: '1 个城市落实此承诺。', backCoverage: '← 覆盖情况',
    overTime: '{name}随时间变化', ofShort: '{latest} / {target}',
    'st:planned': '计划中', 'st:in-progress': '进行中', 'st:done': '已完成', 'st:delayed': '已推迟', 'st:dropped': '已放弃' },
};
for (const [l, words] of Object.entries(MONITORING_STRINGS)) Object.assign(STRINGS[l], words);
const LANGUAGE_NAMES = { en: 'English', fr: 'Français', es: 'Español', de: 'Deutsch', nl: 'Nederlands', da: 'Dansk', sv: 'Svenska', pt: 'Português', ar: 'العربية', zh: '中文' };

const UI = (() => {
  const asked = new URLSearchParams(location.search).get('lang');
  if (asked && STRINGS[asked]) return asked;
  for (const l of navigator.languages || []) if (STRINGS[l.slice(0, 2)]) return l.slice(0, 2);
  return 'en';
})();
const t = (key, values = {}) => String((STRINGS[UI] || STRINGS.en)[key] ?? STRINGS.en[key] ?? key).replace(/\{(\w+)\}/g, (_, k) => values[k] ?? '');
const vocab = { themes: {}, commitments: {} };  // theme -> its name in the page's language (GET /api/v1/vocabulary)
const themeName = (th) => vocab.themes[th] || th;
// A commitment's title in the page's language when the project has one, else as given.
const commitmentTitle = (fw, ref, given) => (vocab.commitments[fw + ':' + ref] || {})[UI] || given;
const languageName = (code) => { try { return new Intl.DisplayNames([UI], { type: 'language' }).of(code); } catch (e) { return code; } };

function localizePage() {
  document.documentElement.lang = UI;
  document.documentElement.dir = UI === 'ar' ? 'rtl' : 'ltr';
  for (const el of document.querySelectorAll('[data-t]')) el.textContent = t(el.dataset.t);
  $('q').placeholder = t('placeholder');
  const select = $('ui-lang');
  select.innerHTML = Object.entries(LANGUAGE_NAMES).map(([code, name]) => `<option value="${code}"${code === UI ? ' selected' : ''}>${esc(name)}</option>`).join('');
  select.addEventListener('change', () => {
    const url = new URL(location.href);
    url.searchParams.set('lang', select.value);
    location.href = url.toString();  // the view (#…) stays
  });
}

async function api(path) {
  const res = await fetch(path, { headers: { Accept: 'application/json' } });
  const body = await res.json();
  if (!res.ok) {
    const err = new Error(body.error + (body.param ? ' (' + body.param + ')' : ''));
    err.index = body.index;  // a 503 for words while the search index is built
    err.retryAfter = Number(res.headers.get('Retry-After')) || 0;
    throw err;
  }
  return body;
}

// While the search index is built, words cannot be matched yet: say how far it is, list
// without the words (filters answer from the store meanwhile), and try again shortly.
let indexRetry = null;
async function searchWithoutWords(err, more) {
  const { indexed, of, state: st } = err.index;
  const note = st === 'off' ? t('indexOff') : t('indexBuilding', { indexed, of });
  const words = state.q;
  state.q = '';
  try {
    await search(more);
  } finally {
    state.q = words;
  }
  $('summary').insertAdjacentHTML('afterbegin', `<span class="notice">${esc(note)}</span> `);
  if (st !== 'off' && !indexRetry)
    indexRetry = setTimeout(() => { indexRetry = null; if (state.q === words) search(); }, Math.max(2, err.retryAfter) * 1000);
}

function listParams() {
  const p = new URLSearchParams();
  if (state.q) p.set('q', state.q);
  for (const [k, v] of Object.entries(state.filters)) p.set(k, v);
  if (state.sort) p.set('sort', state.sort);
  return p;
}

function listUrl(cursor) {
  const p = listParams();
  if (cursor) p.set('cursor', cursor);
  return '/api/v1/practices?' + p.toString();
}

// The view's address: what is searched, filtered, sorted and how many pages are shown.
function viewHash() {
  const p = listParams();
  if (state.pages > 1) p.set('pages', state.pages);
  const query = p.toString();
  return '#/' + (query ? '?' + query : '');
}
function navigate() {
  const hash = viewHash();
  if (location.hash !== hash) location.hash = hash;  // hashchange runs the search
  else search();
}

// The current results as a file, made here from the API's pages (at most 10,000 records).
async function exportResults(format) {
  const items = [];
  let cursor = null;
  do {
    const p = listParams();
    p.set('limit', '100');
    p.set('facets', 'false');
    if (cursor) p.set('cursor', cursor);
    const page = await api('/api/v1/practices?' + p.toString());
    items.push(...page.items);
    cursor = page.next;
  } while (cursor && items.length < 10000);
  const columns = ['origin', 'id', 'city', 'country', 'title', 'language', 'themes', 'started', 'version', 'published'];
  const cell = (v) => { const s = Array.isArray(v) ? v.join(';') : String(v ?? ''); return /[",\n;]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; };
  const text = format === 'csv'
    ? [columns.join(','), ...items.map((it) => columns.map((c) => cell(it[c])).join(','))].join('\n') + '\n'
    : items.map((it) => JSON.stringify(it)).join('\n') + '\n';
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([text], { type: format === 'csv' ? 'text/csv' : 'application/x-ndjson' }));
  link.download = 'practices.' + (format === 'csv' ? 'csv' : 'ndjson');
  document.body.appendChild(link);
  link.click();
  link.remove();
}

function renderFacets(facets) {
  const names = { theme: t('theme'), city: t('city'), commitment: t('commitment') };
  const param = { theme: 'theme', city: 'city', commitment: 'ref' };
  let html = '';
  for (const facet of ['theme', 'city', 'commitment']) {
    const values = Object.entries((facets || {})[facet] || {}).sort((a, b) => b[1] - a[1]).slice(0, 15);
    if (!values.length) continue;
    html += `<h3>${names[facet]}</h3>`;
    for (const [value, count] of values) {
      const checked = facet === 'commitment'
        ? state.filters.framework + ':' + state.filters.ref === value
        : state.filters[param[facet]] === value;
      const shown = facet === 'theme' ? themeName(value) : value;
      html += `<label><input type="checkbox" data-facet="${facet}" data-value="${esc(value)}" ${checked ? 'checked' : ''}> ${esc(shown)} <span class="count">(${count})</span></label>`;
    }
  }
  $('facets').innerHTML = html || `<p>${esc(t('noFilters'))}</p>`;
  for (const box of $('facets').querySelectorAll('input')) {
    box.addEventListener('change', () => {
      const { facet, value } = box.dataset;
      if (facet === 'commitment') {
        const [fw, ref] = value.split(':');
        if (box.checked) { state.filters.framework = fw; state.filters.ref = ref; } else { delete state.filters.framework; delete state.filters.ref; }
      } else if (box.checked) state.filters[param[facet]] = value; else delete state.filters[param[facet]];
      state.pages = 1;
      navigate();
    });
  }
}

// A record's own text: in its language, and right to left when its script is (dir=auto:
// the browser follows the text's first strong character, so Arabic, Hebrew, Persian or Urdu
// read right to left whatever the page's direction).
const textOf = (item) => ` lang="${esc(item.language || '')}" dir="auto"`;

function renderItems(items, append) {
  const html = items.map((it) => `<li class="result">
      <a href="#/practice/${encodeURIComponent(it.origin)}/${encodeURIComponent(it.id)}"${textOf(it)}>${esc(it.title)}</a>
      <div class="meta">${esc(it.city)} (${esc(it.country)}) · ${esc((it.themes || []).map(themeName).join(', '))} · v${it.version} · ${esc(it.language)}${it.matched_in ? ' · ' + esc(t('matchedIn', { lang: languageName(it.matched_in) })) : ''}</div>
      <div class="snippet"${textOf(it)}>${it.snippet !== undefined ? it.snippet : esc((it.summary || '').slice(0, 200))}</div>
    </li>`).join('');
  if (append) $('results').insertAdjacentHTML('beforeend', html); else $('results').innerHTML = html;
}

async function search(more) {
  try {
    let page = await api(listUrl(more ? state.next : null));
    state.next = page.next;
    renderItems(page.items, more);
    if (!more) renderFacets(page.facets);
    // A reloaded or shared address shows as many pages as it says.
    for (let shown = 1; !more && shown < state.pages && state.next; ++shown) {
      page = Object.assign(await api(listUrl(state.next)), { total: page.total, interpreted: page.interpreted });
      state.next = page.next;
      renderItems(page.items, true);
    }
    const count = page.total === 1 ? t('result1') : t('results', { n: page.total });
    $('summary').textContent = count + (state.q ? ' ' + t('matching', { q: state.q }) : '');
    for (const m of page.interpreted || [])
      $('summary').insertAdjacentHTML('beforeend', ` <span class="notice">${esc(t('readAs', { word: m.word, theme: themeName(m.theme), lang: languageName(m.language) }))}</span>`);
    $('more').hidden = !page.next;
  } catch (e) {
    if (e.index && state.q) return searchWithoutWords(e, more);
    $('summary').innerHTML = `<span class="error">${esc(e.message)}</span>`;
  }
}

// One practice: every field a researcher needs, in the page's language when a translation
// exists (#/practice/ORIGIN/ID?original=1 for the original), and what each version changed.
async function showRecord(origin, id, options = {}) {
  const view = $('record-view');
  try {
    const base = `/api/v1/practices/${encodeURIComponent(origin)}/${encodeURIComponent(id)}`;
    const [item, history, frameworks] = await Promise.all([
      api(options.original ? base : `${base}?lang=${encodeURIComponent(options.tr || UI)}`),
      api(`${base}/history`),
      api('/api/v1/frameworks').catch(() => ({ items: [] })),
    ]);
    // Who signed a version: the city's own key, or a key it delegated (docs/identity.md).
    const signer = (v) => (v.signed_by ? `${esc(v.signed_by.name || v.signed_by.key.slice(0, 12))} (${esc(v.signed_by.role || 'key')})` : esc(t('theCity')));
    const titleOf = (fw, ref) => {
      const f = frameworks.items.find((x) => x.id === fw);
      const c = f && (f.commitments || []).find((x) => x.ref === ref);
      return c ? commitmentTitle(fw, ref, c.title) : '';
    };
    // What changed from one version to the next: the fields, with the old and new values.
    const changed = (v, prev) => {
      if (!prev) return esc(t('first'));
      const keys = new Set([...Object.keys(v), ...Object.keys(prev)]);
      const skip = new Set(['version', 'published', 'seq', 'signed_by', 'retracted', 'retraction', 'erased', 'withdrawn']);
      const out = [];
      for (const k of keys) {
        if (skip.has(k) || JSON.stringify(v[k]) === JSON.stringify(prev[k])) continue;
        const show = (x) => esc(typeof x === 'string' ? x : JSON.stringify(x ?? '—'));
        out.push(`<details><summary>${esc(k)}</summary><del>${show(prev[k])}</del> → <ins>${show(v[k])}</ins></details>`);
      }
      return out.join('') || '—';
    };
    const rows = history.items.map((v, i) => `<tr><td>v${v.version}</td><td>${esc(v.published)}</td><td>${esc(v.title)}</td><td class="signer">${signer(v)}</td><td class="diff">${changed(v, history.items[i - 1])}</td></tr>`).join('');
    const tr = item.translation;
    const note = tr
      ? `<p class="notice translation-note">${esc(t('translatedBy', { from: languageName(tr.original_language), city: tr.translator.city }))}${tr.outdated ? ' — ' + esc(t('outdated')) : ''} · <a href="#/practice/${encodeURIComponent(origin)}/${encodeURIComponent(id)}?original=1">${esc(t('original'))}</a></p>`
      : tr === null ? `<p class="notice translation-note">${esc(t('noTranslation', { lang: languageName(item.language_requested), from: languageName(item.language) }))}</p>` : '';
    const outcomes = (item.outcomes || []).map((o) => `<tr><td>${esc(o.indicator)}</td><td>${fmt(o.value)}</td><td>${esc(o.unit || '')}</td><td>${esc(o.year || '')}</td></tr>`).join('');
    const translations = (item.translations || []).map((x) => `<li><a href="#/practice/${encodeURIComponent(origin)}/${encodeURIComponent(id)}?tr=${encodeURIComponent(x.language)}">${esc(languageName(x.language))}</a> — ${esc(x.translator.city)}${x.outdated ? ' (' + esc(t('outdated')) + ')' : ''}</li>`).join('');
    const field = (label, html) => (html ? `<p><b>${esc(label)}:</b> ${html}</p>` : '');
    view.innerHTML = `<article class="record">
      <h2 id="record-title"${textOf(item)}>${esc(item.title)}</h2>
      <p class="meta">${esc(item.city)} (${esc(item.country)}) · ${esc(item.language)} · ${esc(t('version'))} ${item.version}, ${esc(item.published)} · ${esc(t('signedBy'))} ${signer(item)}</p>
      ${note}
      <p id="record-summary"${textOf(item)}>${esc(item.summary)}</p>
      ${item.body ? `<div class="body"${textOf(item)}>${esc(item.body)}</div>` : ''}
      ${field(t('themes'), esc((item.themes || []).map(themeName).join(', ')))}
      ${field(t('principles'), esc((item.principles || []).join(', ')))}
      ${field(t('commitments'), (item.frameworks || []).map((f) => `<a href="#/commitment/${encodeURIComponent(f.framework)}/${encodeURIComponent(f.ref)}" title="${esc(titleOf(f.framework, f.ref))}">${esc(f.framework + ' ' + f.ref)}</a> ${esc(titleOf(f.framework, f.ref))}`).join('; '))}
      ${field(t('started'), esc(item.started || ''))}${field(t('ended'), esc(item.ended || ''))}
      ${field(t('partners'), esc((item.partners || []).join(', ')))}
      ${outcomes ? `<h3>${esc(t('outcomes'))}</h3><table id="outcomes" class="progress"><thead><tr><th>${esc(t('indicator'))}</th><th>${esc(t('value'))}</th><th>${esc(t('unit'))}</th><th>${esc(t('year'))}</th></tr></thead><tbody>${outcomes}</tbody></table>` : ''}
      ${field(t('links'), (item.links || []).map((l) => `<a href="${esc(l)}" rel="noopener noreferrer">${esc(l)}</a>`).join(', '))}
      ${field(t('contact'), esc(item.contact || ''))}
      ${translations ? `<h3>${esc(t('translations'))}</h3><ul id="translations">${translations}</ul>` : ''}
      <h3>${esc(t('history'))}</h3><table class="versions"><tr><th>${esc(t('version'))}</th><th>${esc(t('published'))}</th><th>${esc(t('title'))}</th><th>${esc(t('signedBy'))}</th><th>${esc(t('changes'))}</th></tr>${rows}</table>
      <p><a href="${esc(state.searched || '#/')}">${esc(t('back'))}</a></p></article>`;
  } catch (e) {
    view.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

async function showNetwork() {
  const view = $('network-view');
  try {
    const net = await api('/api/v1/network');
    const nodes = net.cities;
    const r = 160, cx = 220, cy = 200;
    const pos = {};
    nodes.forEach((n, i) => { const a = (2 * Math.PI * i) / Math.max(nodes.length, 1); pos[n.node] = [cx + r * Math.cos(a), cy + r * Math.sin(a)]; });
    let svg = '';
    for (const t of net.twins) {
      const [a, b] = t.cities.map((c) => pos[c.node]);
      if (a && b) svg += `<line x1="${a[0]}" y1="${a[1]}" x2="${b[0]}" y2="${b[1]}" stroke="#c05" stroke-width="2"><title>twins: ${esc(t.topics.join(', '))}</title></line>`;
    }
    for (const c of net.coalitions) {
      const lead = pos[c.lead.node];
      for (const m of c.members) {
        const p = pos[m.node];
        if (lead && p && m.node !== c.lead.node) svg += `<line x1="${lead[0]}" y1="${lead[1]}" x2="${p[0]}" y2="${p[1]}" stroke="#27a" stroke-dasharray="4"><title>${esc(c.name)}</title></line>`;
      }
    }
    for (const n of nodes) {
      const [x, y] = pos[n.node];
      svg += `<circle cx="${x}" cy="${y}" r="6" fill="#20416b"></circle><text x="${x + 9}" y="${y + 4}" font-size="12">${esc(n.city || n.node.slice(0, 8))}</text>`;
    }
    const coalitions = net.coalitions.map((c) => `<li><b>${esc(c.name)}</b> ${esc(c.title || '')} — lead ${esc(c.lead.city)}, framework ${esc(c.framework || '')}; members: ${esc(c.members.map((m) => m.city).join(', '))}</li>`).join('');
    const twins = net.twins.map((t) => `<li>${esc(t.cities[0].city)} – ${esc(t.cities[1].city)} ${t.topics.length ? '(' + esc(t.topics.join(', ')) + ')' : ''}</li>`).join('');
    const adopted = await api('/api/v1/adoptions');
    const travels = adopted.items.map((a) => `<li><a href="#/practice/${encodeURIComponent(a.from.origin)}/${encodeURIComponent(a.practice.split('/')[1])}">${esc(a.from.title || a.practice)}</a>: ${esc(a.from.city || '?')} → ${esc(a.city || '?')}${a.started ? ' (' + esc(a.started) + ')' : ''}${a.notes ? ' — ' + esc(a.notes) : ''}</li>`).join('');
    const legend = `<svg id="network-legend" width="420" height="24" role="img" aria-label="legend">
      <line x1="4" y1="12" x2="40" y2="12" stroke="#c05" stroke-width="2"></line><text x="46" y="16" font-size="12">${esc(t('legendTwin'))}</text>
      <line x1="190" y1="12" x2="226" y2="12" stroke="#27a" stroke-dasharray="4"></line><text x="232" y="16" font-size="12">${esc(t('legendCoalition'))}</text></svg>`;
    view.innerHTML = `<h2>${esc(t('network'))}</h2><svg id="network-svg" width="520" height="400" role="img" aria-label="network graph">${svg}</svg>
      <div>${legend}</div>
      <h3>${esc(t('coalitions'))}</h3><ul>${coalitions || `<li>${esc(t('none'))}</li>`}</ul><h3>${esc(t('twins'))}</h3><ul>${twins || `<li>${esc(t('none'))}</li>`}</ul>
      <h3>${esc(t('travelled'))}</h3><ul id="adoptions">${travels || `<li>${esc(t('none'))}</li>`}</ul>`;
  } catch (e) {
    view.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

// Which city acts on which commitment: rows are cities, columns the framework's refs;
// a cell opens the matching practices.
async function showCoverage(framework) {
  const view = $('coverage-view');
  try {
    const st = await api('/api/v1/stats?framework=' + encodeURIComponent(framework || 'eccar-10pt'));
    const cov = st.coverage;
    const max = Math.max(1, ...cov.rows.flatMap((r) => Object.values(r.counts)));
    const head = cov.refs.map((r) => `<th title="${esc(commitmentTitle(cov.framework, r.ref, r.title))}"><a href="#/commitment/${encodeURIComponent(cov.framework)}/${encodeURIComponent(r.ref)}">${esc(r.ref)}</a></th>`).join('');
    const rows = cov.rows.map((row) => {
      const cells = cov.refs.map((r) => {
        const n = row.counts[r.ref] || 0;
        if (!n) return '<td class="gap">·</td>';
        const href = `#/?city=${encodeURIComponent(row.origin)}&framework=${encodeURIComponent(cov.framework)}&ref=${encodeURIComponent(r.ref)}`;
        // Shades by class: the page's CSP allows no inline styles.
        return `<td class="lvl${Math.ceil((4 * n) / max)}"><a href="${href}" title="${esc(row.city)}: ${n} · ${esc(commitmentTitle(cov.framework, r.ref, r.title))}">${n}</a></td>`;
      }).join('');
      return `<tr><th scope="row">${esc(row.city)}</th>${cells}<td class="covered">${row.commitments_covered}/${cov.refs.length}</td></tr>`;
    }).join('');
    const frameworks = await api('/api/v1/frameworks');
    const options = frameworks.items.map((f) => `<option value="${esc(f.id)}"${f.id === cov.framework ? ' selected' : ''}>${esc(f.id)}</option>`).join('');
    const legend = cov.refs.map((r) => `<li><a href="#/commitment/${encodeURIComponent(cov.framework)}/${encodeURIComponent(r.ref)}"><b>${esc(r.ref)}</b> ${esc(commitmentTitle(cov.framework, r.ref, r.title))}</a></li>`).join('');
    const themes = Object.entries(st.by_theme).sort((a, b) => b[1] - a[1]).map(([th, n]) => `<li>${esc(themeName(th))} <span class="count">${n}</span></li>`).join('');
    const regions = Object.entries(st.by_region || {}).sort((a, b) => b[1] - a[1]).map(([r, n]) => `<li>${esc(r)} <span class="count">${n}</span></li>`).join('');
    const years = Object.entries(st.by_year).map(([y, n]) => `<li>${esc(y)} <span class="count">${n}</span></li>`).join('');
    view.innerHTML = `<h2>${esc(t('coverageTitle'))}</h2>
      <label>${esc(t('framework'))} <select id="framework-select">${options}</select></label> — ${esc(cov.title)}; ${esc(t('publicPractices', { n: st.total }))}
      <table id="coverage-matrix" class="matrix"><thead><tr><th>${esc(t('city'))}</th>${head}<th>${esc(t('covered'))}</th></tr></thead><tbody>${rows}</tbody></table>
      <ul class="legend">${legend}</ul>
      <div class="columns"><div><h3>${esc(t('byTheme'))}</h3><ul>${themes}</ul></div><div><h3>${esc(t('byRegion'))}</h3><ul>${regions}</ul></div><div><h3>${esc(t('byYear'))}</h3><ul>${years}</ul></div></div>`;
    $('framework-select').addEventListener('change', (e) => showCoverage(e.target.value));
  } catch (e) {
    view.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

const fmt = (v, unit) => (v === null || v === undefined ? '—' : `${Number(v).toLocaleString(UI)}${unit ? ' ' + unit : ''}`);
const trendMark = (trend) => (trend ? t(trend) : '');
const statusName = (status) => t('st:' + status);

// The action plans this node holds publicly, newest first.
async function showPlans() {
  const view = $('plans-view');
  try {
    const plans = await api('/api/v1/plans?limit=100');
    const rows = plans.items.map((p) => `<tr><td><a href="#/plan/${encodeURIComponent(p.origin)}/${encodeURIComponent(p.id)}">${esc(p.title)}</a></td>
      <td>${esc(p.city)}</td><td>${esc(p.framework)}</td><td>${esc((p.period || {}).from)} – ${esc((p.period || {}).to)}</td><td>${(p.items || []).length}</td></tr>`).join('');
    view.innerHTML = `<h2>${esc(t('plansTitle'))}</h2><table id="plans-table" class="progress"><thead><tr><th>${esc(t('plan'))}</th><th>${esc(t('city'))}</th><th>${esc(t('framework'))}</th><th>${esc(t('period'))}</th><th>${esc(t('items'))}</th></tr></thead>
      <tbody>${rows || `<tr><td colspan="5">${esc(t('noPlans'))}</td></tr>`}</tbody></table>`;
  } catch (e) {
    view.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

// One plan's progress: items, status, latest against target, trend, and each indicator's
// history as the SVG chart the node draws (also downloadable for reports).
async function showPlan(origin, id) {
  const view = $('plan-view');
  const base = `/api/v1/plans/${encodeURIComponent(origin)}/${encodeURIComponent(id)}`;
  try {
    const p = await api(base + '/progress');
    const items = p.items.map((it) => {
      const indicators = it.indicators.map((ind) => {
        const chart = `${base}/chart.svg?item=${encodeURIComponent(it.id)}&indicator=${encodeURIComponent(ind.name)}&lang=${UI}`;
        return `<div class="indicator"><div><b>${esc(ind.name)}</b>: ${esc(t('ofTarget', { latest: fmt(ind.latest, ind.unit), target: fmt(ind.target, ind.unit) }))}
            (${esc(t('baseline', { v: fmt(ind.baseline, ind.unit) }))}, ${esc(t(ind.direction))})${ind.target_met ? ` <span class="met">${esc(t('targetMet'))}</span>` : ''}
            ${ind.achieved !== null && ind.achieved !== undefined ? ` · ${esc(t('achieved', { pct: Math.round(ind.achieved * 100) }))}` : ''} ${esc(trendMark(ind.trend))}</div>
          ${ind.history.length ? `<img class="chart" src="${chart}" alt="${esc(t('overTime', { name: ind.name }))}" width="480" height="220"> <a href="${chart}" download>${esc(t('downloadSvg'))}</a>` : `<p class="meta">${esc(t('noReports'))}</p>`}</div>`;
      }).join('');
      return `<tr class="${it.overdue ? 'overdue' : ''}"><td>${esc(it.id)}</td>
        <td><a href="#/commitment/${encodeURIComponent(p.framework)}/${encodeURIComponent(it.commitment)}">${esc(it.commitment)}</a></td>
        <td>${esc(it.action)}${it.department ? `<div class="meta">${esc(it.department)}</div>` : ''}</td>
        <td>${esc(statusName(it.status))}${it.overdue ? ` <span class="late">${esc(t('overdue'))}</span>` : ''}</td><td>${esc(it.due || '')}</td></tr>
        ${indicators ? `<tr><td></td><td colspan="4">${indicators}</td></tr>` : ''}`;
    }).join('');
    const s = p.summary;
    view.innerHTML = `<h2 id="plan-title">${esc(p.title)}</h2>
      <p class="meta">${esc(p.city)} · ${esc(p.framework)} · ${esc(p.period.from)} – ${esc(p.period.to)}</p>
      <p id="plan-summary">${esc(t('planSummary', { reported: s.reported, indicators: s.indicators, met: s.targets_met, overdue: s.overdue }))}</p>
      <table id="plan-items" class="progress"><thead><tr>${['item', 'commitment', 'action', 'status', 'due'].map((k) => `<th>${esc(t(k))}</th>`).join('')}</tr></thead><tbody>${items}</tbody></table>
      <p><a href="#/plans">${esc(t('allPlans'))}</a></p>`;
  } catch (e) {
    view.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

// One commitment across all cities: who acts on it, with which practices and plan items,
// and with what results so far.
async function showCommitment(framework, ref) {
  const view = $('commitment-view');
  try {
    const c = await api(`/api/v1/commitments/${encodeURIComponent(framework)}/${encodeURIComponent(ref)}`);
    const cities = c.cities.map((city) => {
      const practices = city.practices.map((pr) => `<li><a href="#/practice/${encodeURIComponent(city.origin)}/${encodeURIComponent(pr.id)}">${esc(pr.title)}</a>${pr.started ? ` (${esc(pr.started)})` : ''}</li>`).join('');
      const items = city.plan_items.map((it) => `<li><a href="#/plan/${encodeURIComponent(city.origin)}/${encodeURIComponent(it.plan)}">${esc(it.plan_title)}</a>: ${esc(it.action)} — ${esc(statusName(it.status))}${it.overdue ? ` <span class="late">${esc(t('overdue'))}</span>` : ''}
          ${it.indicators.map((ind) => `<div class="meta">${esc(ind.name)}: ${esc(t('ofShort', { latest: fmt(ind.latest, ind.unit), target: fmt(ind.target, ind.unit) }))} ${esc(trendMark(ind.trend))}</div>`).join('')}</li>`).join('');
      return `<section class="city-commitment"><h3>${esc(city.city)} (${esc(city.country)})</h3>
        ${practices ? `<h4>${esc(t('practices'))}</h4><ul>${practices}</ul>` : ''}${items ? `<h4>${esc(t('planItems'))}</h4><ul>${items}</ul>` : ''}</section>`;
    }).join('');
    view.innerHTML = `<h2 id="commitment-title">${esc(c.framework)} ${esc(c.ref)}: ${esc(commitmentTitle(c.framework, c.ref, c.title))}</h2>
      <p>${esc(c.cities.length === 1 ? t('citiesAct1') : t('citiesAct', { n: c.cities.length }))}</p>${cities}
      <p><a href="#/coverage">${esc(t('backCoverage'))}</a></p>`;
  } catch (e) {
    view.innerHTML = `<p class="error">${esc(e.message)}</p>`;
  }
}

function route() {
  const hash = location.hash || '#/';
  const [path, query] = hash.slice(2).split('?');
  const parts = path.split('/').map(decodeURIComponent);
  const params = new URLSearchParams(query || '');
  if (parts[0] === '') {
    // The address is the view: read it (a reload, a shared link, the back button, the
    // coverage matrix's links) and search when it differs from what is shown.
    const view = '#/' + (query ? '?' + query : '');
    if (view !== state.searched) {
      state.q = params.get('q') || '';
      state.sort = params.get('sort') || '';
      state.pages = Math.max(1, Math.min(50, Number(params.get('pages')) || 1));
      state.filters = {};
      for (const [k, v] of params) if (!['q', 'sort', 'pages'].includes(k)) state.filters[k] = v;
      $('q').value = state.q;
      $('sort').value = state.sort;
      state.searched = view;
      search();
    }
  }
  $('search-view').hidden = parts[0] !== '';
  $('record-view').hidden = parts[0] !== 'practice';
  $('network-view').hidden = parts[0] !== 'network';
  $('coverage-view').hidden = parts[0] !== 'coverage';
  $('plans-view').hidden = parts[0] !== 'plans';
  $('plan-view').hidden = parts[0] !== 'plan';
  $('commitment-view').hidden = parts[0] !== 'commitment';
  if (parts[0] === 'practice') showRecord(parts[1], parts[2], { original: params.has('original'), tr: params.get('tr') });
  else if (parts[0] === 'plans') showPlans();
  else if (parts[0] === 'plan') showPlan(parts[1], parts[2]);
  else if (parts[0] === 'commitment') showCommitment(parts[1], parts[2]);
  else if (parts[0] === 'coverage') showCoverage();
  else if (parts[0] === 'network') showNetwork();
}

$('search-form').addEventListener('submit', (e) => { e.preventDefault(); state.q = $('q').value.trim(); state.pages = 1; navigate(); });
$('sort').addEventListener('change', () => { state.sort = $('sort').value; state.pages = 1; navigate(); });
$('more').addEventListener('click', () => {
  state.pages += 1;
  state.searched = viewHash();  // the address follows; the next page is added, not reloaded
  history.replaceState(null, '', state.searched);
  search(true);
});
$('export-csv').addEventListener('click', () => exportResults('csv'));
$('export-ndjson').addEventListener('click', () => exportResults('ndjson'));
(async () => {
  localizePage();
  try {
    const v = await api('/api/v1/vocabulary');
    for (const th of v.themes) vocab.themes[th.theme] = th.names[UI] || th.theme;
    for (const c of v.commitments || []) vocab.commitments[c.framework + ':' + c.ref] = c.titles;
  } catch (e) { /* names stay the vocabulary's values */ }
  window.addEventListener('hashchange', route);
  route();
})();
